"""crictl's streaming client against our own streaming server (cri.streaming), both transports.

The runtime behind the server runs exec'd commands as host processes and forwards ports to a
loopback echo server, so this needs neither root nor a container engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cri.crictl.app import run
from cri.streaming.backend import PortConnection, StreamingProcess, TerminalSize
from cri.streaming.process import start_process
from cri.streaming.server import StreamingServer
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from tests.crictl import scenario
from tests.crictl.conftest import Crictl, WatchedOutput

TRANSPORTS = ["spdy", "websocket"]


@dataclass
class HostStreams:
    """Exec runs on the host; every forwarded port leads to one loopback echo server."""

    echo_port: int

    async def start_exec(self, spec: ExecSpec, *, terminal_size: TerminalSize | None) -> StreamingProcess:
        return await start_process(spec.cmd, tty=spec.tty, stdin=spec.stdin, terminal_size=terminal_size)

    async def attach(self, spec: AttachSpec) -> StreamingProcess:
        raise NotImplementedError("attach is covered against containerd")

    async def dial_port(self, pod_sandbox_id: str, port: int) -> PortConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.echo_port)
        return PortConnection(reader=reader, writer=writer)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data.upper())
        await writer.drain()
    writer.close()


@pytest.fixture
async def streaming(crictl: Crictl) -> AsyncIterator[StreamingServer]:
    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
    server = StreamingServer(HostStreams(echo_port=echo.sockets[0].getsockname()[1]))
    await server.start()

    async def exec_url(spec: ExecSpec) -> str:
        return server.exec_url(spec)

    async def port_forward_url(spec: PortForwardSpec) -> str:
        return server.port_forward_url(spec)

    crictl.runtime.exec = exec_url  # type: ignore[method-assign]
    crictl.runtime.port_forward = port_forward_url  # type: ignore[method-assign]
    try:
        yield server
    finally:
        await server.stop()
        echo.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_exec_exit_code_and_streams(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path, transport: str
) -> None:
    state = await scenario.build(crictl, tmp_path)
    script = "echo out; echo err >&2; exit 3"
    result = await crictl("exec", "--transport", transport, state.server, "sh", "-c", script)
    assert (result.code, result.out) == (1, "out\n")
    assert result.err.startswith("err\n")
    assert "command terminated with exit code 3" in result.err


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_exec_stdin_reaches_the_process_and_its_end_too(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path, transport: str
) -> None:
    state = await scenario.build(crictl, tmp_path)
    result = await crictl("exec", "-i", "--transport", transport, state.server, "cat", stdin="one\ntwo\n")
    assert (result.code, result.out) == (0, "one\ntwo\n"), result.err


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_port_forward_to_our_server(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path, transport: str
) -> None:
    state = await scenario.build(crictl, tmp_path)
    out = WatchedOutput()
    argv = ["-r", f"unix://{crictl.socket}", "port-forward", "--transport", transport, state.web, ":80"]
    forwarder = asyncio.create_task(run(argv, out=out, err=WatchedOutput(), environ={}))
    try:
        await out.wait_until(lambda text: " -> 80\n" in text)
        local_port = int(out.getvalue().split("127.0.0.1:")[1].split(" ")[0])
        for message in (b"first", b"second"):  # two connections over one session (SPDY) or two URLs
            reader, writer = await asyncio.open_connection("127.0.0.1", local_port)
            writer.write(message)
            await writer.drain()
            assert await asyncio.wait_for(reader.readexactly(len(message)), 10) == message.upper()
            writer.close()
            await writer.wait_closed()
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarder


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_exec_tty_starts_with_the_terminal_size(
    crictl: Crictl, streaming: StreamingServer, tmp_path: Path, transport: str
) -> None:
    import fcntl
    import os
    import struct
    import termios

    state = await scenario.build(crictl, tmp_path)
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 101, 0, 0))
    out = WatchedOutput()
    script = "stty size; read x; echo got:$x"
    argv = ["-r", f"unix://{crictl.socket}", "exec", "-it", "--transport", transport, state.server]
    with os.fdopen(terminal, "r") as stdin:
        session = asyncio.create_task(
            run([*argv, "sh", "-c", script], out=out, err=WatchedOutput(), stdin=stdin, environ={})
        )
        try:
            await out.wait_until(lambda text: "37 101" in text)  # no race: sized before it started
            os.write(controller, b"hello\r")
            await out.wait_until(lambda text: "got:hello" in text)
            assert await asyncio.wait_for(session, 10) == 0
        finally:
            os.close(controller)
