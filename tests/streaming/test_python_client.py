# mypy: disable-error-code="no-untyped-call"
"""The official Python ``kubernetes`` client's WebSocket stream against our exec/attach/port-forward URLs."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

from kubernetes.client import Configuration
from kubernetes.stream.ws_client import PortForward, WSClient, create_websocket

from cri.streaming.server import StreamingServer
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from tests.streaming.host_runtime import HostRuntime

TIMEOUT = 15


def ws_url(url: str) -> str:
    return "ws" + url.removeprefix("http")


def exec_spec(cmd: tuple[str, ...], *, tty: bool = False, stdin: bool = False) -> ExecSpec:
    return ExecSpec(container_id="c", cmd=cmd, tty=tty, stdin=stdin, stdout=True, stderr=not tty)


def run_to_end(url: str, steps: list[tuple[int, str]], *, close_stdin: bool = False) -> WSClient:
    client = WSClient(Configuration(), ws_url(url), headers=None, capture_all=True)
    try:
        for channel, data in steps:
            client.write_channel(channel, data)
        if close_stdin:
            client.close_channel(0)
        client.run_forever(timeout=TIMEOUT)
    finally:
        close_client(client)
    return client


def close_client(client: WSClient) -> None:
    """``WSClient.close`` leaves the socket open once the server closed first."""
    client.close()
    client.sock.shutdown()


def finish_port_forward(forward: PortForward) -> None:
    """Close the local sockets and wait for the client's proxy thread, which closes the WebSocket."""
    forward.close()
    for thread in threading.enumerate():
        if thread.name.startswith("Kubernetes port forward proxy"):
            thread.join(TIMEOUT)
    forward.websocket.shutdown()


async def test_exec_stdout_stderr_and_exit_code(server: StreamingServer) -> None:
    url = server.exec_url(exec_spec(("sh", "-c", "echo out; echo err >&2; exit 3")))
    client = await asyncio.to_thread(run_to_end, url, [])
    assert client.subprotocol == "v5.channel.k8s.io"
    assert client.read_channel(1) == "out\n"
    assert client.read_channel(2) == "err\n"
    assert client.returncode == 3


async def test_exec_success_has_exit_code_zero(server: StreamingServer) -> None:
    client = await asyncio.to_thread(run_to_end, server.exec_url(exec_spec(("true",))), [])
    assert client.returncode == 0


async def test_exec_stdin_closed_with_the_v5_close_signal(server: StreamingServer) -> None:
    url = server.exec_url(exec_spec(("sh", "-c", "cat; echo eof"), stdin=True))
    client = await asyncio.to_thread(run_to_end, url, [(0, "line one\nline two\n")], close_stdin=True)
    assert client.read_channel(1) == "line one\nline two\neof\n"
    assert client.returncode == 0


async def test_exec_tty_resize_reaches_the_process(server: StreamingServer, runtime: HostRuntime) -> None:
    url = server.exec_url(exec_spec(("sh", "-c", "stty size; read x; stty size"), tty=True, stdin=True))
    steps = [
        (4, json.dumps({"Width": 101, "Height": 37})),
    ]

    def session() -> str:
        client = WSClient(Configuration(), ws_url(url), headers=None, capture_all=True)
        try:
            for channel, data in steps:
                client.write_channel(channel, data)
            first = client.readline_stdout(timeout=TIMEOUT)
            client.write_channel(4, json.dumps({"Width": 120, "Height": 40}))
            client.write_stdin("go\n")
            client.run_forever(timeout=TIMEOUT)
            return str(first) + "\n" + str(client.read_channel(1))
        finally:
            close_client(client)

    output = await asyncio.to_thread(session)
    assert output.replace("\r", "").split("\n")[:1] == ["37 101"]
    assert "40 120" in output
    assert runtime.exec_sizes[0] is not None and (
        runtime.exec_sizes[0].width,
        runtime.exec_sizes[0].height,
    ) == (
        101,
        37,
    )


async def test_attach_non_tty_reads_the_container_output(
    server: StreamingServer, runtime: HostRuntime
) -> None:
    await runtime.start_container("ctr", ("sh", "-c", "read x; echo got:$x"), tty=False)
    url = server.attach_url(AttachSpec(container_id="ctr", tty=False, stdin=True, stdout=True, stderr=True))
    client = await asyncio.to_thread(run_to_end, url, [(0, "hello\n")])
    assert client.read_channel(1) == "got:hello\n"
    assert client.returncode == 0


async def test_port_forward_echo(server: StreamingServer, runtime: HostRuntime, echo_port: int) -> None:
    runtime.port_map = {8080: echo_port}
    url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=(8080,)))

    def session() -> bytes:
        forward = PortForward(create_websocket(Configuration(), ws_url(url)), [8080])
        sock = forward.socket(8080)
        sock.settimeout(TIMEOUT)
        payload = bytes(range(256)) * 64
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        finish_port_forward(forward)
        return received

    received = await asyncio.to_thread(session)
    assert received == bytes(range(256)) * 64


async def test_port_forward_dial_error_reaches_the_error_channel(
    server: StreamingServer, runtime: HostRuntime
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    runtime.port_map = {9: closed_port}
    url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=(9,)))

    def session() -> str | None:
        forward = PortForward(create_websocket(Configuration(), ws_url(url)), [9])
        sock = forward.socket(9)
        sock.settimeout(TIMEOUT)
        assert sock.recv(1) == b""
        finish_port_forward(forward)
        error: str | None = forward.error(9)
        return error

    error = await asyncio.to_thread(session)
    assert error is not None and "error forwarding port 9" in error and "refused" in error.lower()
