"""Acceptance against containerd's built-in CRI (and a subset on the runc shim): realistic static pods."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from api.core.v1.pods import pod_uid
from api.model.core_v1 import ContainerStatus, PodStatus
from kubelet.pod_cgroups import pod_cgroup_dirs
from kubelet.server import KubeletServer, ServerAuth
from tinykube.testbeds.runc_shim import ShimProcess, make_layout

from .conftest import NODE
from .containerd_node import RealNode, containerd_node

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]
SLOW_S = 90.0
GRACE_S = 10  # hooks.yaml's terminationGracePeriodSeconds


@pytest.fixture
async def real(tmp_path: Path) -> AsyncIterator[RealNode]:
    async with containerd_node(tmp_path) as node:
        yield node


def _container(status: PodStatus | None, name: str) -> ContainerStatus | None:
    if status is None:
        return None
    statuses = (*(status.container_statuses or ()), *(status.init_container_statuses or ()))
    return next((c for c in statuses if c.name == name), None)


async def _exec(real: RealNode, status: PodStatus, name: str, *cmd: str) -> str:
    container = _container(status, name)
    assert container is not None and container.container_id
    result = await real.node.client.exec_sync(
        container.container_id.partition("://")[2], list(cmd), exec_timeout=10
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout.decode()


def _ready(status: PodStatus) -> bool:
    return {c.type: c.status for c in status.conditions}.get("Ready") == "True"


async def test_realistic_pods_reach_their_statuses(real: RealNode) -> None:
    for name in ("web", "init", "sidecar", "shared", "hooks", "job"):
        real.install(name)
    node = real.node
    await node.wait_for("web ready", lambda: (s := node.status("web")) is not None and _ready(s), SLOW_S)
    web = node.status("web")
    assert web is not None and web.pod_ip and web.container_statuses[0].ready

    init = await node.wait_phase("init", "Running")
    assert [c.state.terminated.reason for c in init.init_container_statuses] == ["Completed", "Completed"]  # type: ignore[union-attr]
    assert await _exec(real, init, "app", "cat", "/work/order") == "first\nsecond\n"

    await node.wait_for(
        "sidecar ready", lambda: (s := node.status("sidecar")) is not None and _ready(s), SLOW_S
    )
    sidecar = node.status("sidecar")
    assert sidecar is not None
    logger = _container(sidecar, "logger")
    assert logger is not None and logger.state.running is not None  # type: ignore[union-attr]
    assert "tmpfs" in await _exec(real, sidecar, "app", "sh", "-c", "grep ' /shared ' /proc/mounts")

    shared = await node.wait_phase("shared", "Running")
    assert await _exec(real, shared, "reader", "cat", "/data/who") == f"shared-{NODE} on {NODE}\n"
    env = await _exec(real, shared, "writer", "sh", "-c", "echo $POD_IP; echo $MEMORY_LIMIT")
    assert env == f"{shared.pod_ip}\n32\n"
    assert await _exec(real, shared, "reader", "cat", "/info/labels") == 'tier="backend"'
    await _exec(real, shared, "reader", "touch", "/host/from-pod")
    assert (real.host_dir / "from-pod").exists()
    assert shared.qos_class == "Burstable"

    hooks = await node.wait_phase("hooks", "Running")
    assert await _exec(real, hooks, "app", "cat", "/tmp/started") == "started\n"

    job = await node.wait_phase("job", "Succeeded")
    terminated = job.container_statuses[0].state.terminated  # type: ignore[union-attr]
    assert terminated is not None and (terminated.exit_code, terminated.reason) == (0, "Completed")

    hooks_pod = node.kubelet.find_pod("default", f"hooks-{NODE}")
    assert hooks_pod is not None
    assert pod_cgroup_dirs(hooks_pod, node.kubelet.settings)  # made under kubepods by the runtime
    (node.manifests / "hooks.yaml").unlink()
    await node.wait_for(
        "hooks terminated", lambda: pod_uid(hooks_pod) not in node.kubelet.workers.known(), SLOW_S
    )
    pre_stop, term = _stop_events(real.host_dir / "events")
    assert 0 <= term - pre_stop <= GRACE_S  # SIGTERM after the preStop hook, within the grace period
    assert pod_cgroup_dirs(hooks_pod, node.kubelet.settings) == []


def _stop_events(events: Path) -> tuple[int, int]:
    """When, by the container's own clock, its preStop hook ran and it got SIGTERM (and exited 0)."""
    [(first, pre_stop), (second, term)] = [line.split() for line in events.read_text().splitlines()]
    assert (first, second) == ("preStop", "TERM"), events.read_text()
    return int(pre_stop), int(term)


async def test_liveness_failures_restart_with_growing_back_off(real: RealNode) -> None:
    real.install("liveness")
    node = real.node
    messages: list[str] = []

    def backing_off_twice() -> bool:
        container = _container(node.status("liveness"), "app")
        waiting = container.state.waiting if container and container.state else None
        if waiting is not None and waiting.reason == "CrashLoopBackOff" and waiting.message not in messages:
            messages.append(waiting.message or "")
        return any("back-off 20s" in m for m in messages)

    await node.wait_for("CrashLoopBackOff of 20s", backing_off_twice, SLOW_S)
    assert any("back-off 10s" in m for m in messages)
    container = _container(node.status("liveness"), "app")
    assert container is not None and container.restart_count >= 2
    assert container.last_state.terminated.exit_code == 137  # type: ignore[union-attr]


async def test_edited_manifest_replaces_the_pod(real: RealNode) -> None:
    real.install("web")
    node = real.node
    first = await node.wait_phase("web", "Running")
    first_id = first.container_statuses[0].container_id
    text = (node.manifests / "web.yaml").read_text().replace("app: web", "app: web2")
    node.write("web.yaml", text)
    await node.wait_for(
        "the edited web running",
        lambda: (
            (s := node.status("web")) is not None
            and s.phase == "Running"
            and s.container_statuses[0].container_id not in (None, first_id)
        ),
        SLOW_S,
    )
    sandboxes = await node.client.list_pod_sandbox()
    ours = [s for s in sandboxes if s.labels.get("io.kubernetes.pod.name") == f"web-{NODE}" and s.state == 0]
    assert len(ours) == 1 and ours[0].labels["app"] == "web2"


LOGGER = """apiVersion: v1
kind: Pod
metadata: {name: logger}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 1; done"]
"""


async def test_container_logs_follow_streams_new_lines(real: RealNode) -> None:
    node = real.node
    node.write("logger.yaml", LOGGER)
    await node.wait_phase("logger", "Running")
    server = KubeletServer(node.kubelet, dataclasses.replace(node.config, port=0), ServerAuth())
    await server.start()
    try:
        url = (
            f"http://127.0.0.1:{server.port}/containerLogs/default/logger-{NODE}/app?follow=true&tailLines=1"
        )
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            first = await asyncio.wait_for(response.content.readline(), SLOW_S)
            second = await asyncio.wait_for(response.content.readline(), SLOW_S)
    finally:
        await server.stop()
    assert first.startswith(b"line ") and second.startswith(b"line ")
    assert int(second.split()[1]) == int(first.split()[1]) + 1


@pytest.fixture
async def runc_real(tmp_path: Path) -> AsyncIterator[RealNode]:
    layout = await asyncio.to_thread(make_layout, tmp_path / "runc-shim")
    shim = ShimProcess(layout, tmp_path / "runc.sock")
    client = await shim.start()
    await client.close()
    try:
        async with containerd_node(tmp_path / "kubelet", endpoint=f"unix://{tmp_path / 'runc.sock'}") as node:
            yield node
    finally:
        await shim.stop()


async def test_realistic_pods_on_the_runc_shim(runc_real: RealNode) -> None:
    for name in ("init", "shared", "job", "liveness"):
        runc_real.install(name)
    node = runc_real.node
    init = await node.wait_phase("init", "Running")
    assert await _exec(runc_real, init, "app", "cat", "/work/order") == "first\nsecond\n"
    shared = await node.wait_phase("shared", "Running")
    assert await _exec(runc_real, shared, "reader", "cat", "/data/who") == f"shared-{NODE} on {NODE}\n"
    job = await node.wait_phase("job", "Succeeded")
    assert job.container_statuses[0].state.terminated.reason == "Completed"  # type: ignore[union-attr]

    def crash_looping() -> bool:
        container = _container(node.status("liveness"), "app")
        waiting = container.state.waiting if container and container.state else None
        return waiting is not None and "back-off 10s" in (waiting.message or "")

    await node.wait_for("liveness CrashLoopBackOff", crash_looping, SLOW_S)
