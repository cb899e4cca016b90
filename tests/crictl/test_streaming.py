"""exec, attach and port-forward over WebSocket against a streaming server speaking k8s channels."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from cri.crictl.app import run
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from tests.crictl import scenario
from tests.crictl.conftest import Crictl, WatchedOutput

FAILURE_3: dict[str, object] = {
    "metadata": {},
    "status": "Failure",
    "message": "command terminated with non-zero exit code: exit code 3",
    "reason": "NonZeroExitCode",
    "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
}


@dataclass
class StreamingServer:
    """Answers like a CRI streaming server: echo stdin, then the Status the test chose."""

    protocols: tuple[str, ...] = ("v5.channel.k8s.io", "v4.channel.k8s.io")
    status: dict[str, object] = field(default_factory=lambda: {"metadata": {}, "status": "Success"})
    negotiated: list[str] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    base: str = ""

    async def channels(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=self.protocols)
        await ws.prepare(request)
        self.negotiated.append(ws.ws_protocol or "")
        await ws.send_bytes(b"\x01out\n")
        await ws.send_bytes(b"\x02err\n")
        if request.query.get("stdin") == "1":
            async for message in ws:
                if message.type != WSMsgType.BINARY:
                    break
                self.received.append(message.data)
                if message.data[0] == 0:
                    await ws.send_bytes(b"\x01" + message.data[1:])
                v4_line_done = (ws.ws_protocol or "").startswith("v4") and b"\n" in message.data
                if message.data == b"\xff\x00" or v4_line_done:
                    break
        await ws.send_bytes(b"\x03" + json.dumps(self.status).encode())
        await ws.close()
        return ws

    async def port_forward(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
        await ws.prepare(request)
        port = struct.pack("<H", int(request.query["port"]))
        await ws.send_bytes(b"\x00" + port)
        await ws.send_bytes(b"\x01" + port)
        async for message in ws:
            if message.type != WSMsgType.BINARY:
                break
            await ws.send_bytes(b"\x00" + message.data[1:].upper())
        return ws


@pytest.fixture
async def streaming(crictl: Crictl) -> AsyncIterator[StreamingServer]:
    server = StreamingServer()
    app = web.Application()
    app.router.add_get("/exec", server.channels)
    app.router.add_get("/portforward", server.port_forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base = f"http://127.0.0.1:{port}"

    async def exec_url(spec: ExecSpec) -> str:
        return f"{server.base}/exec?stdin={int(spec.stdin)}"

    async def attach_url(spec: AttachSpec) -> str:
        return f"{server.base}/exec?stdin={int(spec.stdin)}"

    async def port_forward_url(spec: PortForwardSpec) -> str:
        return f"{server.base}/portforward?port={spec.ports[0]}"

    crictl.runtime.exec = exec_url  # type: ignore[method-assign]
    crictl.runtime.attach = attach_url  # type: ignore[method-assign]
    crictl.runtime.port_forward = port_forward_url  # type: ignore[method-assign]
    try:
        yield server
    finally:
        await runner.cleanup()


async def test_exec_routes_streams_and_reports_the_exit_code(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path
) -> None:
    state = await scenario.build(crictl, tmp_path)
    streaming.status = FAILURE_3
    result = await crictl("exec", "--transport", "websocket", state.server, "sh", "-c", "exit 3")
    assert (result.code, result.out) == (1, "out\n")
    assert result.err.startswith("err\n")
    assert (
        f'level=error msg="execing command in container {state.server}: command terminated with exit code 3'
        in result.err
    )
    assert streaming.negotiated == ["v5.channel.k8s.io"]


async def test_exec_interactive_sends_stdin_then_closes_it(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path
) -> None:
    state = await scenario.build(crictl, tmp_path)
    result = await crictl("exec", "-i", "--transport", "websocket", state.server, "cat", stdin="hello\n")
    assert (result.code, result.out) == (0, "out\nhello\n")
    assert streaming.received == [b"\x00hello\n", b"\xff\x00"]


async def test_a_v4_only_server_like_containerd_works(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path
) -> None:
    state = await scenario.build(crictl, tmp_path)
    streaming.protocols = ("v4.channel.k8s.io",)
    result = await crictl("exec", "-i", "--transport", "websocket", state.server, "cat", stdin="hi\n")
    assert (result.code, result.out) == (0, "out\nhi\n")
    assert streaming.negotiated == ["v4.channel.k8s.io"]


async def test_attach_swallows_the_detach_keys(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path
) -> None:
    state = await scenario.build(crictl, tmp_path)
    result = await crictl("attach", "-it", "--transport", "websocket", state.server, stdin="ls\x10\x11after")
    assert result.code == 0, result.err
    assert streaming.received == [b"\x00ls", b"\xff\x00"]


async def test_port_forward_carries_a_connection_to_the_pod(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path
) -> None:
    state = await scenario.build(crictl, tmp_path)
    out = WatchedOutput()
    argv = ["-r", f"unix://{crictl.socket}", "port-forward", "--transport", "websocket", state.web, ":8080"]
    forwarder = asyncio.create_task(run(argv, out=out, err=io.StringIO(), environ={}))
    try:
        await out.wait_until(lambda text: "Forwarding from 127.0.0.1:" in text)
        local_port = int(out.getvalue().split("127.0.0.1:")[1].split(" ")[0])
        assert out.getvalue().startswith(f"Forwarding from 127.0.0.1:{local_port} -> 8080\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", local_port)
        writer.write(b"ping")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(4), 10) == b"PING"
        writer.close()
        await writer.wait_closed()
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarder
