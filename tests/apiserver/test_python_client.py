"""The official Python `kubernetes` client against the apiserver, unchanged."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from tinykube.testbeds.apiserver import RunningApiServer, running_apiserver

# The client's pooled TLS connections can still be half-closed when a test's server stops; the
# transport is reclaimed at the next collection (asyncio 3.11 has no Server.close_clients()).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
async def apiserver(tmp_path: Path) -> AsyncIterator[RunningApiServer]:
    async with running_apiserver(tmp_path) as running:
        yield running
    gc.collect()  # reclaims (within this test) the transports the warning above is about


@pytest.fixture
async def core(apiserver: RunningApiServer) -> AsyncIterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(apiserver.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.rest_client.pool_manager.clear()
        api_client.close()


def _pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(name=name, labels={"app": "py"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
    )


def _crud(api_client: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api_client)
    created = v1.create_namespaced_pod("default", _pod("py"))
    assert created.metadata.uid and created.status.phase == "Pending"
    read = v1.read_namespaced_pod("py", "default")
    read.metadata.labels["extra"] = "yes"
    replaced = v1.replace_namespaced_pod("py", "default", read)
    assert replaced.metadata.labels == {"app": "py", "extra": "yes"}
    patched = v1.patch_namespaced_pod("py", "default", {"metadata": {"labels": {"p": "1"}}})
    assert patched.metadata.labels["p"] == "1"
    v1.create_namespaced_config_map(
        "default",
        client.V1ConfigMap(
            api_version="v1", kind="ConfigMap", metadata=client.V1ObjectMeta(name="c"), data={"k": "v"}
        ),
    )
    v1.create_namespace(
        client.V1Namespace(api_version="v1", kind="Namespace", metadata=client.V1ObjectMeta(name="team"))
    )
    v1.create_node(client.V1Node(api_version="v1", kind="Node", metadata=client.V1ObjectMeta(name="node-1")))
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(
        "default",
        client.V1Deployment(
            api_version="apps/v1",
            kind="Deployment",
            metadata=client.V1ObjectMeta(name="d"),
            spec=client.V1DeploymentSpec(
                selector=client.V1LabelSelector(match_labels={"a": "b"}),
                template=(
                    client.V1PodTemplateSpec(
                        metadata=client.V1ObjectMeta(labels={"a": "b"}),
                        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="x")]),
                    )
                ),
            ),
        ),
    )
    client.CoordinationV1Api(api_client).create_namespaced_lease(
        "kube-node-lease",
        client.V1Lease(
            api_version="coordination.k8s.io/v1",
            kind="Lease",
            metadata=client.V1ObjectMeta(name="node-1"),
            spec=client.V1LeaseSpec(holder_identity="node-1"),
        ),
    )
    assert [p.metadata.name for p in v1.list_namespaced_pod("default", label_selector="app=py").items] == [
        "py"
    ]
    v1.delete_namespaced_pod("py", "default")
    with pytest.raises(ApiException) as missing:
        v1.read_namespaced_pod("py", "default")
    assert missing.value.status == 404


async def test_crud_on_resources(core: client.ApiClient) -> None:
    await asyncio.to_thread(_crud, core)


def _paginate(api_client: client.ApiClient) -> list[str]:
    v1 = client.CoreV1Api(api_client)
    for index in range(7):
        v1.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(
                api_version="v1", kind="ConfigMap", metadata=client.V1ObjectMeta(name=f"cm{index}")
            ),
        )
    names, token = [], None
    while True:
        page = v1.list_namespaced_config_map("default", limit=3, _continue=token)
        names += [item.metadata.name for item in page.items]
        token = page.metadata._continue
        if not token:
            return names


async def test_list_with_pagination(core: client.ApiClient) -> None:
    assert await asyncio.to_thread(_paginate, core) == [f"cm{i}" for i in range(7)]


def _bind(api_client: client.ApiClient) -> tuple[str, int]:
    v1 = client.CoreV1Api(api_client)
    v1.create_namespaced_pod("default", _pod("bound"))
    binding = client.V1Binding(
        metadata=client.V1ObjectMeta(name="bound"),
        target=client.V1ObjectReference(kind="Node", name="node-7"),
    )
    v1.create_namespaced_binding("default", binding, _preload_content=False)
    node = v1.read_namespaced_pod("bound", "default").spec.node_name
    try:
        v1.create_namespaced_binding("default", binding, _preload_content=False)
    except ApiException as again:
        return node, again.status
    return node, 0


async def test_binding_sets_the_node_once(core: client.ApiClient) -> None:
    assert await asyncio.to_thread(_bind, core) == ("node-7", 409)


def _invalid(api_client: client.ApiClient) -> ApiException:
    v1 = client.CoreV1Api(api_client)
    try:
        v1.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(
                api_version="v1", kind="ConfigMap", metadata=client.V1ObjectMeta(name="Bad_Name")
            ),
        )
    except ApiException as error:
        return error
    raise AssertionError("the invalid name was accepted")


async def test_errors_arrive_as_api_exception_with_the_status(core: client.ApiClient) -> None:
    error = await asyncio.to_thread(_invalid, core)
    assert error.status == 422
    status = json.loads(error.body)
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def _server_side_apply(api_client: client.ApiClient) -> dict[str, Any]:
    deployments = dynamic.DynamicClient(api_client).resources.get(api_version="apps/v1", kind="Deployment")
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }
    deployments.server_side_apply(body=manifest, namespace="default", field_manager="py")
    manifest["spec"]["replicas"] = 4
    applied = deployments.server_side_apply(body=manifest, namespace="default", field_manager="py")
    return dict(applied.to_dict())


async def test_dynamic_server_side_apply(core: client.ApiClient) -> None:
    applied = await asyncio.to_thread(_server_side_apply, core)
    assert applied["spec"]["replicas"] == 4
    assert [e["manager"] for e in applied["metadata"]["managedFields"]] == ["py"]


def _watch_after_compaction(api_client: client.ApiClient, old_revision: str) -> list[str]:
    """What a client does: watch from its revision; on 410 relist and watch from the list's revision."""
    v1 = client.CoreV1Api(api_client)
    seen: list[str] = []
    try:
        for event in watch.Watch().stream(
            v1.list_namespaced_config_map, "default", resource_version=old_revision, timeout_seconds=5
        ):
            seen.append(event["type"])
    except ApiException as error:
        assert error.status == 410
        listed = v1.list_namespaced_config_map("default")
        seen += ["RELIST"] + [item.metadata.name for item in listed.items]
        v1.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=client.V1ObjectMeta(name="new")),
        )
        for event in watch.Watch().stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=5,
        ):
            seen.append(f"{event['type']} {event['object'].metadata.name}")
            break
    return seen


async def test_watch_survives_compaction_by_relisting(
    core: client.ApiClient, apiserver: RunningApiServer
) -> None:
    v1 = client.CoreV1Api(core)
    first = await asyncio.to_thread(
        v1.create_namespaced_config_map,
        "default",
        client.V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=client.V1ObjectMeta(name="old")),
    )
    await asyncio.to_thread(
        v1.create_namespaced_config_map,
        "default",
        client.V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=client.V1ObjectMeta(name="later")),
    )
    await apiserver.store.compact(await apiserver.store.current_revision())
    seen = await asyncio.to_thread(_watch_after_compaction, core, first.metadata.resource_version)
    assert seen == ["RELIST", "later", "old", "ADDED new"]
