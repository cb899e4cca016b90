"""Pods from the apiserver (the FakeApi) run on the fake runtime; statuses and deletion go back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.client.errors import NotFound
from api.client.fake import FakeApi
from api.client.resources import PODS
from kubelet.node import Kubelet, build_kubelet, running
from tests.kubelet.conftest import NODE
from tests.kubelet.conftest import test_config as kubelet_config
from tests.kubelet.fake_cri import WAIT_S, FakeCRI, serve_fake, wait_until


@dataclass
class ApiNode:
    api: FakeApi
    cri: FakeCRI
    kubelet: Kubelet

    async def phase(self, name: str) -> str | None:
        try:
            obj = await self.api.get(PODS, name, namespace="default")
        except NotFound:
            return None
        return str((obj.get("status") or {}).get("phase"))

    async def wait_phase(self, name: str, phase: str | None) -> None:
        """Polls the apiserver, bounded, until the pod has ``phase`` (``None``: until it is gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while (current := await self.phase(name)) != phase:
            if loop.time() > deadline:
                pytest.fail(f"{name}: phase {current}, waited for {phase}")
            await asyncio.sleep(0.02)

    @property
    def status_writes(self) -> int:
        assert self.kubelet.cluster is not None
        return self.kubelet.cluster.statuses.writes


def pod(name: str, node: str = NODE, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "inf"]}],
            **spec,
        },
    }


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[ApiNode]:
    api = FakeApi()
    async with serve_fake(tmp_path) as cri:
        kubelet = build_kubelet(kubelet_config(tmp_path), cri.client, api=api)
        async with running(kubelet):
            yield ApiNode(api, cri, kubelet)


async def test_a_pod_bound_to_the_node_runs_and_its_status_is_written(node: ApiNode) -> None:
    await node.api.create(PODS, pod("web"))
    await node.api.create(PODS, pod("elsewhere", node="node2"))
    await node.wait_phase("web", "Running")
    status = (await node.api.get(PODS, "web", namespace="default"))["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions["Ready"] == "True" and conditions["PodScheduled"] == "True"
    [container] = status["containerStatuses"]
    assert container["name"] == "app" and container["ready"] and "running" in container["state"]
    assert status["hostIP"] == "192.0.2.10" and status["podIP"]
    assert len(node.cri.runtime.sandboxes) == 1, "the pod of another node is not run here"
    assert await node.phase("elsewhere") == "Pending"


async def test_status_is_written_only_when_it_changes(node: ApiNode) -> None:
    created = await node.api.create(PODS, pod("web"))
    await node.wait_phase("web", "Running")
    writes = node.status_writes
    for _ in range(3):
        before = node.kubelet.sync_count
        node.kubelet.workers.wake(created["metadata"]["uid"])
        await wait_until("another sync", lambda: node.kubelet.sync_count > before)  # noqa: B023
    assert node.status_writes == writes


async def test_graceful_deletion_stops_with_the_grace_then_deletes_for_good(node: ApiNode) -> None:
    await node.api.create(PODS, pod("web"))
    await node.wait_phase("web", "Running")
    [container_id] = node.cri.runtime.containers
    marked = await node.api.delete(PODS, "web", namespace="default", grace_period_seconds=7)
    assert marked["metadata"]["deletionTimestamp"], "a pod on a node waits for its kubelet"
    await node.wait_phase("web", None)
    stops = [c.args for c in node.cri.runtime.faults.calls if c.method == "stop_container"]
    assert (container_id, 7) in stops
    assert not node.cri.runtime.sandboxes


async def test_a_pod_deleted_at_once_is_terminated(node: ApiNode) -> None:
    await node.api.create(PODS, pod("web"))
    await node.wait_phase("web", "Running")
    await node.api.delete(PODS, "web", namespace="default", grace_period_seconds=0)
    await wait_until("the pod gone from the runtime", lambda: not node.cri.runtime.sandboxes)
    await node.api.create(PODS, pod("web"))
    await node.wait_phase("web", "Running")


async def test_a_restarted_kubelet_adopts_its_pods_without_restarting_them(tmp_path: Path) -> None:
    api = FakeApi()
    async with serve_fake(tmp_path) as cri:
        config = kubelet_config(tmp_path)
        first = build_kubelet(config, cri.client, api=api)
        async with running(first):
            await api.create(PODS, pod("web"))
            await ApiNode(api, cri, first).wait_phase("web", "Running")
        containers = set(cri.runtime.containers)
        again = build_kubelet(config, cri.client, api=api)
        async with running(again):
            await wait_until("the pods synced again", lambda: again.synced.is_set() and again.sync_count > 0)
            assert set(cri.runtime.containers) == containers
            assert not [c for c in cri.runtime.faults.calls if c.method == "stop_container"]
            assert await ApiNode(api, cri, again).phase("web") == "Running"
