"""Exec and attach over WebSocket channel protocols (v1 … v5, binary and base64)."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from cri.streaming.negotiation import ChannelProtocol
from cri.streaming.remotecommand import CommandChannels, ProcessStarter, run_command
from cri.streaming.status import legacy_error_text, status_for
from cri.streaming.ws_channels import (
    ChannelCodec,
    ChannelDemux,
    InboundChannel,
    OutboundChannel,
    close_websocket,
)

STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)


async def serve_websocket_command(
    ws: web.WebSocketResponse,
    *,
    protocol: ChannelProtocol,
    start: ProcessStarter,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    attach: bool,
    cmd: tuple[str, ...],
) -> None:
    codec = ChannelCodec(base64_text=protocol.base64)
    inbound = {STDIN: InboundChannel()} if stdin else {}
    if tty and protocol.has_resize:
        inbound[RESIZE] = InboundChannel()
    demux = ChannelDemux(ws, codec, inbound)
    reader = asyncio.create_task(demux.run())
    writable = [
        ch for ch, wanted in ((STDOUT, stdout), (STDERR, stderr and not tty), (ERROR, True)) if wanted
    ]
    try:
        await codec.send(
            ws, writable[0], b""
        )  # ready signal: an empty message on the lowest writable channel
        channels = CommandChannels(
            stdin=inbound.get(STDIN),
            stdout=OutboundChannel(ws, codec, STDOUT) if stdout else None,
            stderr=OutboundChannel(ws, codec, STDERR) if stderr and not tty else None,
            resize=inbound.get(RESIZE),
            client_gone=demux.client_gone,
        )
        result = await run_command(channels, start, tty=tty, attach=attach)
        message = status_for(cmd, result) if protocol.status_json else legacy_error_text(cmd, result)
        if message and not ws.closed:
            await codec.send(ws, ERROR, message)
    except ConnectionError:
        pass
    finally:
        await close_websocket(ws)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
