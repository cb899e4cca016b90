"""port-forward: listen locally and carry each accepted connection to the pod over WebSocket.

Each local connection gets its own PortForward URL (tokens are single-use) and one WebSocket
(``v4.channel.k8s.io``): channel 0 carries data, channel 1 errors; the server first sends the port
number (uint16 little-endian) on both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aiohttp

from cri.crictl.session import CommandError, Session
from cri.crictl.stream_client import websocket_url

PROTOCOL = "v4.channel.k8s.io"
DATA, ERROR = 0, 1
PORT_PREFIX = 2
NewUrl = Callable[[int], Awaitable[str]]


async def forward(
    session: Session, new_url: NewUrl, pairs: list[tuple[int, int]], *, address: str, transport: str
) -> None:
    """Serve every ``(local, remote)`` pair until cancelled (Ctrl-C)."""
    if transport != "websocket":
        session.warn("the SPDY transport is not available in this build: using websocket")
    host = "127.0.0.1" if address == "localhost" else address
    servers = []
    connections: set[asyncio.Task[None]] = set()
    for local, remote in pairs:
        try:
            server = await asyncio.start_server(_handler(session, new_url, remote, connections), host, local)
        except OSError as exc:
            raise CommandError(f"unable to listen on port {local}: {exc.strerror or exc}") from None
        bound = server.sockets[0].getsockname()[1]
        session.out.write(f"Forwarding from {host}:{bound} -> {remote}\n")
        session.out.flush()
        servers.append(server)
    try:
        await asyncio.gather(*(server.serve_forever() for server in servers))
    finally:
        for server in servers:
            server.close()
        for connection in connections:
            connection.cancel()


def _handler(
    session: Session, new_url: NewUrl, remote: int, connections: set[asyncio.Task[None]]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        current = asyncio.current_task()
        if current is not None:
            connections.add(current)
            current.add_done_callback(connections.discard)
        session.out.write(f"Handling connection for {remote}\n")
        session.out.flush()
        try:
            await carry(await new_url(remote), reader, writer)
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
