"""The real kubectl 1.32 against the apiserver, asserting on its real output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.apiserver.kubectl import Kubectl
from tinykube.testbeds.apiserver import running_apiserver

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("kubectl")]


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with running_apiserver(tmp_path, storage="sqlite:") as server:
        home = tmp_path / "home"
        home.mkdir()
        yield Kubectl(server.kubeconfig, home)


def _rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.strip().splitlines()]


async def test_version_discovery_and_identity(kubectl: Kubectl) -> None:
    version = json.loads(await kubectl.ok("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.32.0")
    resources = _rows(await kubectl.ok("api-resources"))
    assert resources[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in resources
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in resources
    assert ["leases", "coordination.k8s.io/v1", "true", "Lease"] in resources
    versions = (await kubectl.ok("api-versions")).split()
    assert {"v1", "apps/v1", "events.k8s.io/v1", "discovery.k8s.io/v1"} <= set(versions)
    whoami = await kubectl.ok("auth", "whoami")
    assert "kubernetes-admin" in whoami and "system:masters" in whoami
    assert (await kubectl.ok("get", "--raw", "/readyz")) == "ok"


async def test_namespaces_exist_and_get_prints_tables(kubectl: Kubectl) -> None:
    namespaces = _rows(await kubectl.ok("get", "namespaces"))
    assert namespaces[0] == ["NAME", "STATUS", "AGE"]
    assert {row[0] for row in namespaces[1:]} == {"default", "kube-system", "kube-public", "kube-node-lease"}
    await kubectl.ok("run", "web", "--image=nginx:1.25", "--labels=app=web")
    await kubectl.ok("run", "db", "--image=postgres:16", "--labels=app=db")
    pods = _rows(await kubectl.ok("get", "pods"))
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [row[:4] for row in pods[1:]] == [["db", "0/1", "Pending", "0"], ["web", "0/1", "Pending", "0"]]
    wide = _rows(await kubectl.ok("get", "pods", "-o", "wide", "-l", "app=web"))
    assert wide[0] == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert wide[1][0] == "web" and wide[1][5:] == ["<none>"] * 4
    every = _rows(await kubectl.ok("get", "pods", "-A", "--field-selector", "metadata.name=db"))
    assert every[0][:2] == ["NAMESPACE", "NAME"] and every[1][:2] == ["default", "db"]
    document = json.loads(await kubectl.ok("get", "pod", "web", "-o", "json"))
    assert document["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "uid: " in await kubectl.ok("get", "pod", "web", "-o", "yaml")
    assert await kubectl.ok("get", "pod", "web", "-o", "jsonpath={.metadata.labels.app}") == "web"
    custom = _rows(
        await kubectl.ok("get", "pods", "-o", "custom-columns=N:.metadata.name,I:.spec.containers[0].image")
    )
    assert custom == [["N", "I"], ["db", "postgres:16"], ["web", "nginx:1.25"]]


async def test_delete_by_name_label_and_all(kubectl: Kubectl) -> None:
    for name in ("a", "b", "c"):
        await kubectl.ok("run", name, "--image=busybox", f"--labels=group={'x' if name != 'c' else 'y'}")
    assert 'pod "c" deleted' in await kubectl.ok("delete", "pod", "c", "--wait")
    deleted = await kubectl.ok("delete", "pods", "-l", "group=x")
    assert 'pod "a" deleted' in deleted and 'pod "b" deleted' in deleted
    result = await kubectl.run("get", "pods")
    assert "No resources found in default namespace." in result.err
    missing = await kubectl.run("get", "pod", "nothing")
    assert missing.code == 1
    assert 'Error from server (NotFound): pods "nothing" not found' in missing.err


MANIFEST = Path(__file__).parent / "data" / "app.yaml"


def _changed_manifest() -> str:
    return MANIFEST.read_text().replace("mode: fast", "mode: safe").replace("replicas: 2", "replicas: 3")


async def test_apply_client_side_then_a_changed_manifest(kubectl: Kubectl) -> None:
    out = await kubectl.ok("apply", "-f", str(MANIFEST))
    assert out.split("\n")[:3] == [
        "configmap/settings created",
        "deployment.apps/shop created",
        "pod/worker created",
    ]
    assert "unchanged" in await kubectl.ok("apply", "-f", str(MANIFEST))
    changed = await kubectl.ok("apply", "-f", "-", stdin=_changed_manifest())
    assert "configmap/settings configured" in changed and "deployment.apps/shop configured" in changed
    assert await kubectl.ok("get", "cm", "settings", "-o", "jsonpath={.data.mode}") == "safe"
    deployment = json.loads(await kubectl.ok("get", "deploy", "shop", "-o", "json"))
    assert deployment["spec"]["replicas"] == 3 and deployment["metadata"]["generation"] == 2


async def test_apply_server_side_then_a_changed_manifest(kubectl: Kubectl) -> None:
    out = await kubectl.ok("apply", "--server-side", "-f", str(MANIFEST))
    assert "deployment.apps/shop serverside-applied" in out
    await kubectl.ok("apply", "--server-side", "-f", "-", stdin=_changed_manifest())
    assert await kubectl.ok("get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}") == "3"
    managers = await kubectl.ok(
        "get",
        "deploy",
        "shop",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    )
    assert managers == "kubectl"


async def test_label_annotate_patch_edit_replace_diff(kubectl: Kubectl, tmp_path: Path) -> None:
    await kubectl.ok("apply", "-f", str(MANIFEST))
    await kubectl.ok("label", "pod", "worker", "tier=back")
    refused = await kubectl.run("label", "pod", "worker", "tier=front")
    assert refused.code != 0 and "--overwrite is false" in refused.err
    await kubectl.ok("label", "pod", "worker", "tier=front", "--overwrite")
    await kubectl.ok("annotate", "pod", "worker", "note=hi")
    await kubectl.ok("patch", "pod", "worker", "-p", '{"metadata":{"labels":{"s":"1"}}}')
    await kubectl.ok("patch", "pod", "worker", "--type=merge", "-p", '{"metadata":{"labels":{"m":"2"}}}')
    await kubectl.ok(
        "patch",
        "pod",
        "worker",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/j","value":"3"}]',
    )
    labels = json.loads(await kubectl.ok("get", "pod", "worker", "-o", "jsonpath={.metadata.labels}"))
    assert labels == {"app": "shop", "tier": "front", "s": "1", "m": "2", "j": "3"}
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/mode: fast/mode: edited/" "$1"\n')
    editor.chmod(0o755)
    assert "edited" in await kubectl.ok("edit", "configmap", "settings", env={"EDITOR": str(editor)})
    assert await kubectl.ok("get", "cm", "settings", "-o", "jsonpath={.data.mode}") == "edited"
    current = await kubectl.ok("get", "cm", "settings", "-o", "yaml")
    assert "replaced" in await kubectl.ok("replace", "-f", "-", stdin=current.replace("edited", "replaced"))
    diff = await kubectl.run("diff", "-f", "-", stdin=_changed_manifest())
    assert diff.code == 1, diff.err
    assert "-  replicas: 2" in diff.out and "+  replicas: 3" in diff.out


async def test_describe_wait_and_watch(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", str(MANIFEST))
    described = await kubectl.ok("describe", "pod", "worker")
    assert "Name:             worker" in described and "Events:" in described
    not_ready = await kubectl.run("wait", "--for=condition=Ready", "pod/worker", "--timeout=1s")
    assert not_ready.code != 0 and "timed out" in not_ready.err
    watcher = await asyncio.create_subprocess_exec(
        "/usr/bin/kubectl",
        "get",
        "pods",
        "--watch",
        "--output-watch-events",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=kubectl.env(),
    )
    try:
        assert watcher.stdout is not None
        header = await asyncio.wait_for(watcher.stdout.readline(), 30)
        assert b"EVENT" in header
        first = await asyncio.wait_for(watcher.stdout.readline(), 30)
        assert first.split()[:2] == [b"ADDED", b"worker"]
        await kubectl.ok("label", "pod", "worker", "seen=yes")
        change = await asyncio.wait_for(watcher.stdout.readline(), 30)
        assert change.split()[:2] == [b"MODIFIED", b"worker"]
    finally:
        watcher.kill()
        await watcher.wait()
    waiting = asyncio.create_task(kubectl.ok("wait", "--for=delete", "pod/worker", "--timeout=30s"))
    await kubectl.ok("delete", "pod", "worker", "--wait=false")
    await waiting
    assert "NotFound" in (await kubectl.run("get", "pod", "worker")).err


async def test_deleting_a_namespace_deletes_its_content(kubectl: Kubectl) -> None:
    assert "namespace/shop created" in await kubectl.ok("create", "namespace", "shop")
    await kubectl.ok("apply", "-n", "shop", "-f", str(MANIFEST))
    assert 'namespace "shop" deleted' in await kubectl.ok("delete", "namespace", "shop", "--wait")
    gone = await kubectl.run("get", "namespace", "shop")
    assert "NotFound" in gone.err


async def test_typed_create_commands_send_protobuf(kubectl: Kubectl) -> None:
    assert "deployment.apps/web created" in await kubectl.ok(
        "create", "deployment", "web", "--image=nginx", "--replicas=2"
    )
    await kubectl.ok("create", "configmap", "conf", "--from-literal=a=b")
    await kubectl.ok("create", "secret", "generic", "pw", "--from-literal=p=q")
    await kubectl.ok("create", "service", "clusterip", "web", "--tcp=80:8080")
    deployment = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    assert await kubectl.ok("get", "secret", "pw", "-o", "jsonpath={.data.p}") == "cQ=="
    assert await kubectl.ok("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].targetPort}") == "8080"


async def test_scale_through_the_scale_subresource(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", str(MANIFEST))
    assert "deployment.apps/shop scaled" in await kubectl.ok("scale", "deployment", "shop", "--replicas=5")
    assert await kubectl.ok("get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}") == "5"


async def test_explain_and_delete_all(kubectl: Kubectl) -> None:
    explained = await kubectl.ok("explain", "pod.spec.containers")
    assert "KIND:       Pod" in explained and "FIELD: containers <[]Container>" in explained
    assert "image\t<string>" in explained
    await kubectl.ok("apply", "-f", str(MANIFEST))
    deleted = await kubectl.ok("delete", "pods,configmaps", "--all")
    assert 'pod "worker" deleted' in deleted and 'configmap "settings" deleted' in deleted
    assert "No resources found" in (await kubectl.run("get", "pods,configmaps")).err
