"""Probes against real containers on containerd's CRI (host network, so probes go to 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.model.core_v1 import ExecAction, HTTPGetAction, Probe, TCPSocketAction
from kubelet.probes.runners import ProbeRunner
from kubelet.probes.types import ProbeOutcome, ProbeResult, ProbeTarget
from tests.kubelet_probes.realpod import RealPod, eventually, host_network_pod

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]
LOOPBACK = "127.0.0.1"
READY_WITHIN_S = 30.0


@pytest.fixture
async def pod(tmp_path: Path) -> AsyncIterator[RealPod]:
    async with host_network_pod(tmp_path / "logs") as real:
        yield real


async def target(pod: RealPod, *command: str) -> ProbeTarget:
    container_id = await pod.start("app", *command)
    return ProbeTarget(container_id=container_id, pod_ip=LOOPBACK)


def free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind((LOOPBACK, 0))
        port: int = probe_socket.getsockname()[1]
    return port


async def until_success(runner: ProbeRunner, probe: Probe, where: ProbeTarget) -> ProbeOutcome:
    """Probes until it succeeds (the server in the container is starting), bounded."""
    outcomes: list[ProbeOutcome] = []

    async def succeeded() -> bool:
        outcomes.append(await runner.run(probe, where))
        return outcomes[-1].result is ProbeResult.SUCCESS

    await eventually(succeeded, within_s=READY_WITHIN_S)
    return outcomes[-1]


async def test_exec_probes_in_a_real_container(pod: RealPod) -> None:
    where = await target(pod, "sleep", "3600")
    async with ProbeRunner(pod.client) as runner:
        ok = await runner.run(Probe(exec=ExecAction(command=("true",))), where)
        failed = await runner.run(Probe(exec=ExecAction(command=("sh", "-c", "echo broken; exit 3"))), where)
        slow = await runner.run(Probe(exec=ExecAction(command=("sleep", "30")), timeout_seconds=1), where)
    assert ok.result is ProbeResult.SUCCESS
    assert (
        failed.result is ProbeResult.FAILURE
        and "exited with 3" in failed.message
        and "broken" in failed.message
    )
    assert slow.result is ProbeResult.FAILURE and "timed out" in slow.message


async def test_http_and_tcp_probes_reach_a_server_in_a_real_container(pod: RealPod) -> None:
    port = free_port()
    script = f"mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p {LOOPBACK}:{port} -h /www"
    where = await target(pod, "sh", "-c", script)
    async with ProbeRunner(pod.client) as runner:
        healthy = Probe(http_get=HTTPGetAction(path="/healthz", port=port))
        assert (await until_success(runner, healthy, where)).message == "ok"
        missing = await runner.run(Probe(http_get=HTTPGetAction(path="/missing", port=port)), where)
        tcp = await runner.run(Probe(tcp_socket=TCPSocketAction(port=port)), where)
    assert missing.result is ProbeResult.FAILURE and "404" in missing.message
    assert tcp.result is ProbeResult.SUCCESS
