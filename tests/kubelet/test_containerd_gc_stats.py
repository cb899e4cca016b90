"""Container GC and /stats/summary against containerd's CRI: real sandboxes, real usage numbers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from api.core.v1.pods import pod_uid
from cri import domain as d
from kubelet import labels as lbl
from kubelet.server import KubeletServer, ServerAuth
from tinykube.testbeds.kubelet_process import eventually

from .conftest import NODE
from .containerd_node import RealNode, containerd_node

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]
SLOW_S = 90.0
SLEEPER = """apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "echo started; sleep 3600"]
  volumes:
  - name: scratch
    emptyDir: {}
"""


@pytest.fixture
async def real(tmp_path: Path) -> AsyncIterator[RealNode]:
    async with containerd_node(tmp_path) as node:
        yield node


async def _of_pod(real: RealNode, uid: str) -> tuple[list[d.PodSandbox], list[d.Container]]:
    selector = {lbl.POD_UID: uid}
    client = real.node.client
    sandboxes = await client.list_pod_sandbox(d.PodSandboxFilter(label_selector=selector))
    containers = await client.list_containers(d.ContainerFilter(label_selector=selector))
    return sandboxes, containers


async def test_gc_keeps_the_newest_sandbox_and_dead_container_then_clears_a_removed_pod(
    real: RealNode,
) -> None:
    node = real.node
    node.write("sleeper.yaml", SLEEPER)
    await node.wait_phase("sleeper", "Running")
    pod = node.kubelet.find_pod("default", f"sleeper-{NODE}")
    assert pod is not None
    for count in (2, 3):
        sandboxes, _ = await _of_pod(real, pod_uid(pod))
        [current] = [s for s in sandboxes if s.state == d.PodSandboxState.SANDBOX_READY]
        await node.client.stop_pod_sandbox(current.id)

        async def replaced(count: int = count) -> bool:
            sandboxes, containers = await _of_pod(real, pod_uid(pod))
            ready = [s.id for s in sandboxes if s.state == d.PodSandboxState.SANDBOX_READY]
            running = [c for c in containers if c.state == d.ContainerState.CONTAINER_RUNNING]
            return (
                len(sandboxes) == count and len(ready) == 1 and [c.pod_sandbox_id for c in running] == ready
            )

        await eventually(replaced, f"sandbox {count} running the container", SLOW_S)
    await node.kubelet.collect_garbage()
    sandboxes, containers = await _of_pod(real, pod_uid(pod))
    ready = [s for s in sandboxes if s.state == d.PodSandboxState.SANDBOX_READY]
    assert len(sandboxes) == 2 and len(ready) == 1  # the stopped one left holds the newest dead container
    assert sorted(c.state for c in containers) == [
        d.ContainerState.CONTAINER_RUNNING,
        d.ContainerState.CONTAINER_EXITED,
    ]

    log_dir = Path(node.config.pod_logs_dir) / f"default_sleeper-{NODE}_{pod_uid(pod)}"
    assert log_dir.is_dir()
    (node.manifests / "sleeper.yaml").unlink()
    await node.wait_for(
        "the pod terminated", lambda: pod_uid(pod) not in node.kubelet.workers.known(), SLOW_S
    )
    await node.kubelet.collect_garbage()
    assert await _of_pod(real, pod_uid(pod)) == ([], [])
    assert not log_dir.exists()


async def test_stats_summary_reports_real_usage(real: RealNode) -> None:
    node = real.node
    node.write("sleeper.yaml", SLEEPER)
    await node.wait_phase("sleeper", "Running")
    server = KubeletServer(node.kubelet, dataclasses.replace(node.config, port=0), ServerAuth())
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/stats/summary"
            async with session.get(url) as response:
                body = await response.json()
                assert response.status == 200, body
    finally:
        await server.stop()
    node_stats = body["node"]
    assert (
        node_stats["runtime"]["imageFs"]["capacityBytes"] >= node_stats["runtime"]["imageFs"]["usedBytes"] > 0
    )
    assert node_stats["fs"]["capacityBytes"] > 0 and node_stats["memory"]["workingSetBytes"] > 0
    [pod] = [p for p in body["pods"] if p["podRef"]["name"] == f"sleeper-{NODE}"]
    [container] = pod["containers"]
    assert container["name"] == "app" and container["memory"]["workingSetBytes"] > 0
    assert container["cpu"]["usageCoreNanoSeconds"] > 0 and "startTime" in container
    assert container["rootfs"]["capacityBytes"] > 0 and "usedBytes" in container["rootfs"]
    assert container["logs"]["usedBytes"] > 0  # "started" is in the log
    assert pod["memory"]["workingSetBytes"] > 0 and pod["cpu"]["usageCoreNanoSeconds"] > 0
    assert [v["name"] for v in pod["volume"]] == ["scratch"]
    assert pod["ephemeral-storage"]["usedBytes"] >= container["logs"]["usedBytes"]
