"""Exec and attach over WebSocket (``v5.channel.k8s.io``, falling back to ``v4``)."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from cri.crictl.session import CommandError, Session
from cri.crictl.stream_client import (
    CLOSE,
    ERROR,
    PROTOCOLS,
    RESIZE,
    STDERR,
    STDIN,
    STDOUT,
    DetachFilter,
    StreamOptions,
    StreamOutcome,
    outcome_of_status,
    resize_message,
    stdin_chunks,
    watch_resizes,
)


async def run_websocket(session: Session, url: str, options: StreamOptions) -> StreamOutcome:
    async with aiohttp.ClientSession() as http:
        try:
            ws = await http.ws_connect(url, protocols=PROTOCOLS, autoping=True, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            raise CommandError(
                f"unable to upgrade streaming request: websocket: bad handshake ({exc.status} {exc.message})"
            ) from None
        except aiohttp.ClientError as exc:
            raise CommandError(f"unable to connect to the streaming server {url}: {exc}") from None
        async with ws:
            return await _session(session, ws, options)


async def _session(
    session: Session, ws: aiohttp.ClientWebSocketResponse, options: StreamOptions
) -> StreamOutcome:
    v5 = ws.protocol == PROTOCOLS[0]
    helpers = []
    if options.stdin:
        helpers.append(asyncio.create_task(_pump_stdin(session, ws, options, v5=v5)))
    if options.tty:
        helpers.append(asyncio.create_task(_pump_resizes(session, ws)))
    try:
        return await _read(session, ws)
    finally:
        for helper in helpers:
            helper.cancel()
        for helper in helpers:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, aiohttp.ClientError):
                await helper


async def _read(session: Session, ws: aiohttp.ClientWebSocketResponse) -> StreamOutcome:
    status = b""
    async for message in ws:
        if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
            break
        payload = message.data if isinstance(message.data, bytes) else message.data.encode()
        if not payload:
            continue
        channel, data = payload[0], payload[1:]
        if channel == STDOUT:
            session.write_stream("stdout", data)
        elif channel == STDERR:
            session.write_stream("stderr", data)
        elif channel == ERROR:
            status += data
    return outcome_of_status(status) if status else StreamOutcome(error=None)


async def _pump_stdin(
    session: Session, ws: aiohttp.ClientWebSocketResponse, options: StreamOptions, *, v5: bool
) -> None:
    detach = DetachFilter() if options.detach_keys and options.tty else None
    async for chunk in stdin_chunks(session):
        detached = False
        if detach is not None:
            chunk, detached = detach.feed(chunk)
        if chunk:
            await ws.send_bytes(bytes([STDIN]) + chunk)
        if detached:
            if not v5:  # v4 cannot half-close stdin: leaving is the only way to detach
                await ws.close()
                return
            break
    if v5:
        await ws.send_bytes(bytes([CLOSE, STDIN]))


async def _pump_resizes(session: Session, ws: aiohttp.ClientWebSocketResponse) -> None:
    sizes = watch_resizes(session)
    while True:
        size = await sizes.get()
        await ws.send_bytes(bytes([RESIZE]) + resize_message(size))
