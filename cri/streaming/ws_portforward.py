"""Port-forward over WebSocket: a data/error channel pair per port (v4), or the SPDY tunnel."""

from __future__ import annotations

import asyncio
import contextlib
import struct

from aiohttp import web

from cri.streaming.backend import PortConnection
from cri.streaming.portforward import Dialer, dial, forward, port_not_allowed
from cri.streaming.ws_channels import (
    ChannelCodec,
    ChannelDemux,
    InboundChannel,
    OutboundChannel,
    close_websocket,
)


async def serve_websocket_port_forward(
    ws: web.WebSocketResponse, *, ports: tuple[int, ...], dialer: Dialer, base64_text: bool
) -> None:
    """Channel 2i carries port i's data and 2i+1 its errors; each starts with the port (uint16 LE)."""
    codec = ChannelCodec(base64_text=base64_text)
    inbound = {2 * index: InboundChannel() for index in range(len(ports))}
    demux = ChannelDemux(ws, codec, inbound)
    reader = asyncio.create_task(demux.run())
    try:
        for index, port in enumerate(ports):
            await codec.send(ws, 2 * index, struct.pack("<H", port))
            await codec.send(ws, 2 * index + 1, struct.pack("<H", port))
        await asyncio.gather(
            *(
                _forward_port(index, port, ws=ws, codec=codec, inbound=inbound[2 * index], dialer=dialer)
                for index, port in enumerate(ports)
            )
        )
    except ConnectionError:
        pass
    finally:
        await close_websocket(ws)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _forward_port(
    index: int,
    port: int,
    *,
    ws: web.WebSocketResponse,
    codec: ChannelCodec,
    inbound: InboundChannel,
    dialer: Dialer,
) -> None:
    connection: PortConnection | str = await dial(dialer, port)
    if isinstance(connection, str):
        await codec.send(ws, 2 * index + 1, connection.encode())
        return
    await forward(connection, inbound, OutboundChannel(ws, codec, 2 * index), until_pod_closes=True)


def requested_ports(query_ports: str | None, allowed: tuple[int, ...]) -> tuple[int, ...] | str:
    """The ports of this session: the PortForward call's, or a subset named in ``?ports=``."""
    if not query_ports:
        return allowed
    try:
        ports = tuple(int(item) for item in query_ports.split(","))
    except ValueError:
        return f"invalid ports query {query_ports!r}: want comma-separated port numbers"
    for port in ports:
        problem = port_not_allowed(port, allowed)
        if problem is not None:
            return problem
    return ports
