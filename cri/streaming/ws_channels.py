"""Kubernetes channel framing over WebSocket: one channel byte (or digit, base64 variants) per message."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

CLOSE_SIGNAL = 255
INBOX_MESSAGES = 16


class ChannelCodec:
    def __init__(self, *, base64_text: bool) -> None:
        self._base64 = base64_text

    async def send(self, ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
        if self._base64:
            await ws.send_str(str(channel) + base64.b64encode(data).decode())
        else:
            await ws.send_bytes(bytes([channel]) + data)

    def decode(self, message_type: WSMsgType, payload: bytes | str) -> tuple[int, bytes] | None:
        raw = payload.encode() if isinstance(payload, str) else payload
        if not raw:
            return None
        if not self._base64:
            return raw[0], raw[1:]
        if not raw[:1].isdigit():
            return None
        try:
            return int(raw[:1]), base64.b64decode(raw[1:], validate=True)
        except binascii.Error:
            return None


class InboundChannel:
    """Client-to-server data of one channel; b"" once closed (v5 close signal, or the socket ended)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._closed = False
        self.drained = asyncio.Event()
        self.drained.set()

    def deliver(self, data: bytes) -> None:
        if not self._closed and data:
            self._queue.put_nowait(data)
            if self._queue.qsize() >= INBOX_MESSAGES:
                self.drained.clear()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(b"")
            self.drained.set()

    async def read(self) -> bytes:
        data = await self._queue.get()
        if not data:
            self._queue.put_nowait(b"")
        if self._queue.qsize() < INBOX_MESSAGES // 2:
            self.drained.set()
        return data


class OutboundChannel:
    def __init__(self, ws: web.WebSocketResponse, codec: ChannelCodec, channel: int) -> None:
        self._ws = ws
        self._codec = codec
        self._channel = channel

    async def write(self, data: bytes) -> None:
        if self._ws.closed:
            raise ConnectionResetError("the WebSocket is closed")
        await self._codec.send(self._ws, self._channel, data)

    async def close_write(self) -> None:
        """Channel protocols have no per-channel close from the server side."""


class ChannelDemux:
    """Reads client messages and routes them to inbound channels; sets ``client_gone`` at the end."""

    def __init__(
        self, ws: web.WebSocketResponse, codec: ChannelCodec, inbound: dict[int, InboundChannel]
    ) -> None:
        self._ws = ws
        self._codec = codec
        self._inbound = inbound
        self.client_gone = asyncio.Event()

    async def run(self) -> None:
        try:
            async for message in self._ws:
                if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                decoded = self._codec.decode(message.type, message.data)
                if decoded is not None:
                    await self._route(*decoded)
        finally:
            self.client_gone.set()
            for channel in self._inbound.values():
                channel.close()

    async def _route(self, channel_id: int, data: bytes) -> None:
        if channel_id == CLOSE_SIGNAL:
            if data and data[0] in self._inbound:
                self._inbound[data[0]].close()
            return
        channel = self._inbound.get(channel_id)
        if channel is None:
            log.debug("dropping %d bytes for channel %d", len(data), channel_id)
            return
        channel.deliver(data)
        await channel.drained.wait()


async def close_websocket(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(ConnectionError):
        await ws.close()
