"""The runc shim on the real stack: runc, conmon, CNI bridge tkrunc0 (root)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from cri.errors import DeadlineExceeded
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container, wait_until

pytestmark = pytest.mark.integration
Shim = tuple[CRIClient, RuncRuntime]


async def test_container_runs_logs_and_exits_with_its_code(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    pod = pod_config("logs", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    config = container_config("c", "sh", "-c", "echo out; echo err >&2; exit 3")
    container_id = await run_container(client, pod_id, pod, config)

    async def exited() -> bool:
        status = (await client.container_status(container_id)).status
        return status is not None and status.state == d.ContainerState.CONTAINER_EXITED

    await wait_until(exited, what="the container to exit")
    status = (await client.container_status(container_id)).status
    assert status is not None
    assert (status.exit_code, status.reason) == (3, "Error")
    assert status.finished_at >= status.started_at > status.created_at > 0
    lines = (await asyncio.to_thread(Path(status.log_path).read_text)).splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["stdout F out", "stderr F err"]


async def test_pods_reach_each_other_by_ip_and_containers_share_localhost(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    server_pod = pod_config("server", tmp_path / "logs")
    server_id = await client.run_pod_sandbox(server_pod)
    await run_container(
        client,
        server_id,
        server_pod,
        container_config(
            "web", "sh", "-c", "mkdir -p /www && echo hello-pod > /www/index.html && httpd -f -p 8080 -h /www"
        ),
    )
    probe = await run_container(client, server_id, server_pod, container_config("probe", "sleep", "300"))
    client_pod = pod_config("client", tmp_path / "logs")
    client_id = await client.run_pod_sandbox(client_pod)
    caller = await run_container(client, client_id, client_pod, container_config("caller", "sleep", "300"))
    status = await client.pod_sandbox_status(server_id)
    assert status.status is not None and status.status.network is not None
    server_ip = status.status.network.ip
    assert server_ip.startswith("10.211.")

    async def served(container_id: str, url: str) -> bool:
        try:
            result = await client.exec_sync(container_id, ["wget", "-q", "-O", "-", url], exec_timeout=5)
        except DeadlineExceeded:  # a hung wget: ask again
            return False
        return result.stdout == b"hello-pod\n"

    await wait_until(lambda: served(probe, "http://127.0.0.1:8080/"), what="localhost inside the pod")
    await wait_until(lambda: served(caller, f"http://{server_ip}:8080/"), what="the other pod by its IP")


async def test_exec_sync_timeout_answers_deadline_exceeded(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    pod = pod_config("exec", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    result = await client.exec_sync(container_id, ["sh", "-c", "id -u; echo e >&2; exit 4"], exec_timeout=10)
    assert (result.stdout, result.stderr, result.exit_code) == (b"0\n", b"e\n", 4)
    with pytest.raises(DeadlineExceeded):
        await client.exec_sync(container_id, ["sleep", "30"], exec_timeout=1)


async def test_stop_and_remove_pod_release_everything(shim: Shim, tmp_path: Path) -> None:
    client, runtime = shim
    pod = pod_config("stop", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    await client.stop_container(container_id, grace_seconds=5)
    status = (await client.container_status(container_id)).status
    assert status is not None and status.state == d.ContainerState.CONTAINER_EXITED
    await client.stop_pod_sandbox(pod_id)
    await client.stop_pod_sandbox(pod_id)
    sandbox = (await client.pod_sandbox_status(pod_id)).status
    assert sandbox is not None and sandbox.state == d.PodSandboxState.SANDBOX_NOTREADY
    await client.remove_pod_sandbox(pod_id)
    assert await client.list_pod_sandbox() == []
    assert await client.list_containers() == []
    leases = [p for p in (tmp_path / "shim" / "ipam").rglob("10.211.*")]
    assert leases == []
    assert not any(runtime.paths.state.joinpath("sandboxes").iterdir())


async def test_conmon_works_in_the_container_bundle(shim: Shim, tmp_path: Path) -> None:
    """conmon writes its "oom" marker into its working directory: that must be the bundle, not ours."""
    client, runtime = shim
    pod = pod_config("cwd", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("main", "sleep", "300"))
    conmon_pid = runtime.containers[container_id].conmon_pid
    assert os.readlink(f"/proc/{conmon_pid}/cwd") == str(runtime.paths.bundle(container_id))
