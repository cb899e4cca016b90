"""Subresources the scheduler and kubelet rely on: status split from spec, binding, field selectors."""

from __future__ import annotations

from typing import Any

import pytest

from api.client import errors
from api.client.protocol import Api
from api.client.resources import NODES, PODS
from api.client.types import Selectors
from tests.client.contract.test_crud import NS, unique


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


def binding(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": NS},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


async def test_status_is_written_through_its_subresource_only(api: Api) -> None:
    name = unique("pod")
    created = await api.create(PODS, pod(name))
    with_status = {**created, "status": {"phase": "Running"}}
    through_main = await api.update(PODS, with_status)
    assert through_main.get("status", {}).get("phase") != "Running"
    through_status = await api.update(
        PODS, {**through_main, "status": {"phase": "Running"}}, subresource="status"
    )
    assert through_status["status"]["phase"] == "Running"
    assert through_status["spec"]["containers"][0]["image"] == "busybox"


async def test_a_spec_change_through_status_is_ignored(api: Api) -> None:
    created = await api.create(PODS, pod(unique("pod")))
    changed_spec = {
        **created,
        "spec": {**created["spec"], "activeDeadlineSeconds": 5},
        "status": {"phase": "Pending"},
    }
    updated = await api.update(PODS, changed_spec, subresource="status")
    assert "activeDeadlineSeconds" not in updated["spec"]


async def test_binding_sets_the_node_once(api: Api) -> None:
    name = unique("pod")
    await api.create(PODS, pod(name))
    await api.create(PODS, binding(name, "node-1"), namespace=NS, name=name, subresource="binding")
    assert (await api.get(PODS, name, namespace=NS))["spec"]["nodeName"] == "node-1"
    with pytest.raises(errors.Conflict) as raised:
        await api.create(PODS, binding(name, "node-2"), namespace=NS, name=name, subresource="binding")
    assert "is already assigned to node" in raised.value.message


async def test_pods_are_selected_by_node_name(api: Api) -> None:
    bound, unbound = unique("pod"), unique("pod")
    node = unique("node")
    await api.create(PODS, pod(bound))
    await api.create(PODS, pod(unbound))
    await api.create(PODS, binding(bound, node), namespace=NS, name=bound, subresource="binding")
    listed = await api.list(PODS, selectors=Selectors(fields=f"spec.nodeName={node}"))
    assert [item["metadata"]["name"] for item in listed.items] == [bound]


async def test_delete_with_a_stale_uid_precondition_is_a_conflict(api: Api) -> None:
    name = unique("pod")
    await api.create(PODS, pod(name))
    with pytest.raises(errors.Conflict):
        await api.delete(PODS, name, namespace=NS, preconditions={"uid": "not-the-uid"})
    assert (await api.get(PODS, name, namespace=NS))["metadata"]["name"] == name


async def test_a_pod_starts_pending_whatever_status_it_was_created_with(api: Api) -> None:
    created = await api.create(PODS, {**pod(unique("pod")), "status": {"phase": "Running"}})
    assert created["status"]["phase"] == "Pending"


async def test_a_node_is_created_with_the_status_it_registers(api: Api) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": unique("node")},
        "status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "4"}},
    }
    created = await api.create(NODES, node)
    assert created["status"]["allocatable"] == {"cpu": "4"}


async def test_a_pod_on_a_node_is_deleted_gracefully_and_finally_with_grace_zero(api: Api) -> None:
    name = unique("pod")
    await api.create(PODS, {**pod(name), "spec": {**pod(name)["spec"], "nodeName": unique("node")}})
    marked = await api.delete(PODS, name, namespace=NS, grace_period_seconds=5)
    assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["deletionGracePeriodSeconds"] == 5
    status = {**marked, "status": {"phase": "Running"}}
    still = await api.update(PODS, status, subresource="status")
    assert still["metadata"]["deletionGracePeriodSeconds"] == 5, "a status write does not end the grace"
    uid = marked["metadata"]["uid"]
    await api.delete(PODS, name, namespace=NS, grace_period_seconds=0, preconditions={"uid": uid})
    with pytest.raises(errors.NotFound):
        await api.get(PODS, name, namespace=NS)


async def test_an_unscheduled_pod_is_deleted_at_once(api: Api) -> None:
    name = unique("pod")
    await api.create(PODS, pod(name))
    await api.delete(PODS, name, namespace=NS, grace_period_seconds=30)
    with pytest.raises(errors.NotFound):
        await api.get(PODS, name, namespace=NS)
