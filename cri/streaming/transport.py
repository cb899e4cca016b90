"""Byte pipes a streaming protocol runs over: an upgraded HTTP connection, or WebSocket messages."""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol

from aiohttp import WSMsgType, web

READ_BUFFER_LIMIT = 256 * 1024


class ByteTransport(Protocol):
    async def read(self) -> bytes:
        """The next bytes from the peer; b"" once the peer is gone."""
        ...

    async def write(self, data: bytes) -> None:
        """Send ``data``, waiting while the peer is slow to read."""
        ...

    async def close(self) -> None: ...


class UpgradedConnection:
    """The raw connection under an aiohttp request after we answered ``101 Switching Protocols``.

    aiohttp only hands over connections for ``Upgrade: websocket``; for ``SPDY/3.1`` we install
    ourselves as the connection's payload parser, the same hook aiohttp's WebSocket support uses.
    """

    def __init__(self, request: web.BaseRequest) -> None:
        self._protocol = request.protocol
        transport = request.transport
        if transport is None:
            raise ConnectionError("the client went away before the upgrade")
        self._transport = transport
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._eof = False
        self._readable = asyncio.Event()
        self._protocol.set_parser(self)  # type: ignore[arg-type]

    def feed_data(self, data: bytes | bytearray | memoryview) -> tuple[bool, bytes]:
        self._chunks.append(bytes(data))
        self._buffered += len(data)
        if self._buffered >= READ_BUFFER_LIMIT and self._transport.is_reading():
            self._transport.pause_reading()
        self._readable.set()
        return False, b""

    def feed_eof(self) -> None:
        self._eof = True
        self._readable.set()

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof or self._transport.is_closing():
                return b""
            self._readable.clear()
            await self._readable.wait()
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._buffered < READ_BUFFER_LIMIT // 2 and not self._transport.is_closing():
            self._transport.resume_reading()
        return chunk

    async def write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise ConnectionResetError("the streaming connection is closed")
        self._transport.write(data)
        if self._protocol.writing_paused:
            await self._protocol._drain_helper()

    async def close(self) -> None:
        self._protocol.force_close()
        self._transport.close()
        self.feed_eof()


class WebSocketBytes:
    """A byte stream carried in binary WebSocket messages (the ``SPDY/3.1+portforward`` tunnel)."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def read(self) -> bytes:
        while True:
            message = await self._ws.receive()
            if message.type == WSMsgType.BINARY:
                data: bytes = message.data
                if data:
                    return data
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return b""

    async def write(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def close(self) -> None:
        await self._ws.close()
