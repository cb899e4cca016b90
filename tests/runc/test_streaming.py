"""Exec, attach and port-forward through the runc shim's streaming server, driven by our crictl CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import pytest

from cri.client import CRIClient
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container, wait_until
from tests.runc.test_network import free_port, http_get

pytestmark = pytest.mark.integration
Shim = tuple[CRIClient, RuncRuntime]
CRICTL_TIMEOUT = 30.0
HTTPD = "mkdir -p /www && echo hello-forward > /www/index.html && httpd -f -p 8080 -h /www"


def crictl_argv(socket: Path) -> tuple[str, ...]:
    return (sys.executable, "-m", "tinykube.main", "crictl", "--runtime-endpoint", f"unix://{socket}")


async def crictl(socket: Path, *args: str, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *crictl_argv(socket), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin), CRICTL_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out, err


@pytest.mark.parametrize("transport", ["spdy", "websocket"])
async def test_exec_streams_output_and_exit_code(shim: Shim, tmp_path: Path, transport: str) -> None:
    client, _ = shim
    pod = pod_config("exec", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    code, out, err = await crictl(
        tmp_path / "runc.sock", "exec", "-r", transport, "-i", container_id,
        "sh", "-c", "cat; echo to-err >&2; exit 5", stdin=b"from-stdin\n",
    )  # fmt: skip
    assert out == b"from-stdin\n"
    assert err.startswith(b"to-err\n")
    assert code != 0 and b"exit code 5" in err  # crictl reports a non-zero exit as real crictl does


@pytest.mark.parametrize("transport", ["spdy", "websocket"])
async def test_port_forward_reaches_localhost_in_the_pod(shim: Shim, tmp_path: Path, transport: str) -> None:
    client, _ = shim
    pod = pod_config("forward", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    await run_container(client, pod_id, pod, container_config("web", "sh", "-c", HTTPD))
    local = free_port()
    forwarder = await asyncio.create_subprocess_exec(
        *crictl_argv(tmp_path / "runc.sock"),
        "port-forward", "-r", transport, pod_id, f"{local}:8080", stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:

        async def forwarded() -> bool:
            return (await http_get(local)).endswith(b"hello-forward\n")

        await wait_until(forwarded, what=f"127.0.0.1:{local} forwarded to the pod's port 8080", timeout=8)
    finally:
        forwarder.terminate()
        await forwarder.wait()


async def test_attach_sees_the_container_output(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    pod = pod_config("attach", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    config = container_config("c", "sh", "-c", "read line; echo got:$line; sleep 300")
    config = dataclasses.replace(config, stdin=True, stdin_once=True)
    container_id = await run_container(client, pod_id, pod, config)
    attacher = await asyncio.create_subprocess_exec(
        *crictl_argv(tmp_path / "runc.sock"),
        "attach", "-i", container_id,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert attacher.stdin is not None and attacher.stdout is not None
    try:
        attacher.stdin.write(b"hello\n")
        await attacher.stdin.drain()
        line = await asyncio.wait_for(attacher.stdout.readline(), CRICTL_TIMEOUT)
        assert line == b"got:hello\n", await attacher.communicate()
    finally:
        if attacher.returncode is None:
            attacher.terminate()
        await attacher.wait()
