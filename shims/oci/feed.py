"""Bytes handed from the event loop to a worker thread, bounded, so a layer unpacks while it downloads."""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from cri.errors import Cancelled

MAX_BYTES = 8 << 20


class ChunkFeed:
    """The loop ``put``s chunks then ``end``s; the worker ``read1``s them as a file (b"" at the end).

    Once the feed holds ``max_bytes``, ``put`` waits for the reader (without taking a thread).
    ``abort`` (loop side) makes the worker's next read raise Cancelled; ``reader_gone`` (worker side)
    makes further puts return at once. Neither side can hang on the other."""

    def __init__(self, *, max_bytes: int = MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._buffered = 0
        self._chunks: deque[bytes | None] = deque()
        self._pending = b""
        self._offset = 0
        self._ended = False
        self._aborted = False
        self._reader_gone = False
        self._changed = threading.Condition()
        self._room = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer_waiting = False

    async def put(self, chunk: bytes) -> None:
        if chunk:
            await self._put(chunk)

    async def end(self) -> None:
        await self._put(None)

    def abort(self) -> None:
        """Loop side: the download is abandoned."""
        with self._changed:
            self._aborted = True
            self._changed.notify_all()
        self._room.set()

    def reader_gone(self) -> None:
        with self._changed:
            self._reader_gone = True
            self._wake_writer()

    def read1(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all of one chunk when -1), waiting only when nothing is buffered."""
        if self._offset == len(self._pending) and not self._ended:
            chunk = self._next_chunk()
            self._ended = chunk is None
            self._pending, self._offset = chunk or b"", 0
        available = len(self._pending) - self._offset
        take = available if size < 0 else min(size, available)
        if self._offset == 0 and take == available:
            data = self._pending
        else:
            data = self._pending[self._offset : self._offset + take]
        self._offset += take
        return data

    async def _put(self, chunk: bytes | None) -> None:
        while not self._offer(chunk):
            await self._room.wait()

    def _offer(self, chunk: bytes | None) -> bool:
        with self._changed:
            if self._reader_gone or self._aborted:
                return True
            if self._chunks and self._buffered >= self._max_bytes:
                self._loop = asyncio.get_running_loop()
                self._writer_waiting = True
                self._room.clear()
                return False
            self._chunks.append(chunk)
            self._buffered += len(chunk or b"")
            self._changed.notify()
            return True

    def _next_chunk(self) -> bytes | None:
        with self._changed:
            while not self._chunks:
                if self._aborted:
                    raise Cancelled("the download feeding this unpack was abandoned")
                self._changed.wait()
            if self._aborted:
                raise Cancelled("the download feeding this unpack was abandoned")
            chunk = self._chunks.popleft()
            self._buffered -= len(chunk or b"")
            self._wake_writer()
            return chunk

    def _wake_writer(self) -> None:
        if self._writer_waiting and self._loop is not None:
            self._writer_waiting = False
            self._loop.call_soon_threadsafe(self._room.set)
