"""port-forward: listen locally and carry each accepted connection to a port of the pod.

SPDY (crictl's default): one upgraded connection for the whole session; per local connection an
error stream (half-closed at once) and a data stream, both with headers ``port`` and ``requestid``.
WebSocket: each local connection gets its own PortForward URL (tokens are single-use) and one
WebSocket (``v4.channel.k8s.io``): channel 0 carries data, channel 1 errors, and the server first
sends the port number (uint16 little-endian) on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aiohttp

from cri.crictl.session import CommandError, Session
from cri.crictl.stream_client import websocket_url

if TYPE_CHECKING:
    from cri.crictl.spdy_transport import SpdyConnection

PROTOCOL = "v4.channel.k8s.io"
DATA, ERROR = 0, 1
PORT_PREFIX = 2
NewUrl = Callable[[int], Awaitable[str]]


async def forward(
    session: Session, new_url: NewUrl, pairs: list[tuple[int, int]], *, address: str, transport: str
) -> None:
    """Serve every ``(local, remote)`` pair until cancelled (Ctrl-C)."""
    host = "127.0.0.1" if address == "localhost" else address
    if transport == "websocket":
        await _listen(session, host, pairs, lambda remote: _WebSocketCarrier(new_url, remote))
        return
    from cri.crictl.spdy_transport import PORT_FORWARD_PROTOCOL, SpdyConnection

    connection = await SpdyConnection.upgrade(await new_url(0), (PORT_FORWARD_PROTOCOL,))
    request_ids = itertools.count()
    try:
        listening = asyncio.create_task(
            _listen(session, host, pairs, lambda remote: _SpdyCarrier(connection, remote, request_ids))
        )
        lost = asyncio.create_task(connection.closed.wait())
        done, _ = await asyncio.wait({listening, lost}, return_when=asyncio.FIRST_COMPLETED)
        for task in (listening, lost):
            task.cancel()
        if lost in done:
            raise CommandError("lost connection to pod")
    finally:
        await connection.close()


class _Carrier(Protocol):
    async def carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None: ...


@dataclass(frozen=True)
class _WebSocketCarrier:
    new_url: NewUrl
    remote: int

    async def carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await carry(await self.new_url(self.remote), reader, writer)


@dataclass(frozen=True)
class _SpdyCarrier:
    connection: SpdyConnection
    remote: int
    request_ids: Iterator[int]

    async def carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_id = str(next(self.request_ids))
        headers = (("port", str(self.remote)), ("requestid", request_id))
        errors = bytearray()
        error_stream = await self.connection.open_stream((("streamtype", "error"), *headers), errors.extend)
        await self.connection.send(error_stream, b"", fin=True)
        data_stream = await self.connection.open_stream((("streamtype", "data"), *headers), writer.write)
        upstream = asyncio.create_task(self._upstream(reader, data_stream))
        try:
            await self.connection.finished(data_stream)
        finally:
            upstream.cancel()
        if errors:
            raise CommandError(errors.decode(errors="replace"))

    async def _upstream(self, reader: asyncio.StreamReader, data_stream: int) -> None:
        while chunk := await reader.read(32 * 1024):
            await self.connection.send(data_stream, chunk)
        await self.connection.send(data_stream, b"", fin=True)


async def _listen(
    session: Session, host: str, pairs: list[tuple[int, int]], carrier: Callable[[int], _Carrier]
) -> None:
    servers = []
    connections: set[asyncio.Task[None]] = set()
    try:
        for local, remote in pairs:
            handler = _handler(session, carrier(remote), remote, connections)
            try:
                server = await asyncio.start_server(handler, host, local)
            except OSError as exc:
                raise CommandError(f"unable to listen on port {local}: {exc.strerror or exc}") from None
            bound = server.sockets[0].getsockname()[1]
            session.out.write(f"Forwarding from {host}:{bound} -> {remote}\n")
            session.out.flush()
            servers.append(server)
        await asyncio.gather(*(server.serve_forever() for server in servers))
    finally:
        for server in servers:
            server.close()
        for connection in connections:
            connection.cancel()


def _handler(
    session: Session, carrier: _Carrier, remote: int, connections: set[asyncio.Task[None]]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        current = asyncio.current_task()
        if current is not None:
            connections.add(current)
            current.add_done_callback(connections.discard)
        session.out.write(f"Handling connection for {remote}\n")
        session.out.flush()
        try:
            await carrier.carry(reader, writer)
        except asyncio.CancelledError:
            pass
        except (CommandError, aiohttp.ClientError, ConnectionError) as exc:
            session.log("error", f"an error occurred forwarding {remote}: {exc}")
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return handle


async def carry(url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes both ways between one local connection and the pod port behind ``url``."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(websocket_url(url), protocols=(PROTOCOL,), max_msg_size=0) as ws,
    ):
        upstream = asyncio.create_task(_local_to_pod(reader, ws))
        try:
            error = await _pod_to_local(ws, writer)
        finally:
            upstream.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, aiohttp.ClientError):
                await upstream
        if error:
            raise CommandError(error)


async def _local_to_pod(reader: asyncio.StreamReader, ws: aiohttp.ClientWebSocketResponse) -> None:
    """Local bytes to the pod; the local side's EOF ends the WebSocket (v4 cannot half-close)."""
    while data := await reader.read(32 * 1024):
        await ws.send_bytes(bytes([DATA]) + data)
    await ws.close()


async def _pod_to_local(ws: aiohttp.ClientWebSocketResponse, writer: asyncio.StreamWriter) -> str:
    skipped = {DATA: 0, ERROR: 0}
    error = b""
    async for message in ws:
        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
            break
        channel, data = message.data[0], message.data[1:]
        if channel not in skipped:
            continue
        prefix = min(PORT_PREFIX - skipped[channel], len(data))
        skipped[channel] += prefix
        data = data[prefix:]
        if channel == DATA and data:
            writer.write(data)
            await writer.drain()
        elif channel == ERROR:
            error += data
    return error.decode(errors="replace")
