"""Bytes handed from the event loop to a worker thread, bounded, so a layer unpacks while it downloads."""

from __future__ import annotations

import asyncio
import queue
import threading

from cri.errors import Cancelled

MAX_CHUNKS = 32
WAIT_S = 0.2


class ChunkFeed:
    """The loop ``put``s chunks then ``end``s; the worker ``read``s them as a file (b"" at the end).

    ``abort`` (loop side) makes the worker's next read raise Cancelled; ``reader_gone`` (worker side)
    releases a loop blocked on a full feed. Neither side can hang on the other."""

    def __init__(self, *, max_chunks: int = MAX_CHUNKS) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(max_chunks)
        self._pending = bytearray()
        self._ended = False
        self._aborted = threading.Event()
        self._reader_gone = threading.Event()

    async def put(self, chunk: bytes) -> None:
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            await asyncio.to_thread(self._put_when_room, chunk)

    async def end(self) -> None:
        await self.put(None)  # type: ignore[arg-type]

    def abort(self) -> None:
        self._aborted.set()

    def reader_gone(self) -> None:
        self._reader_gone.set()

    def _put_when_room(self, chunk: bytes | None) -> None:
        while not self._reader_gone.is_set() and not self._aborted.is_set():
            try:
                self._queue.put(chunk, timeout=WAIT_S)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        while not self._ended and (size < 0 or len(self._pending) < size):
            chunk = self._next_chunk()
            if chunk is None:
                self._ended = True
            else:
                self._pending += chunk
        take = len(self._pending) if size < 0 else min(size, len(self._pending))
        data = bytes(self._pending[:take])
        del self._pending[:take]
        return data

    def _next_chunk(self) -> bytes | None:
        while True:
            if self._aborted.is_set():
                raise Cancelled("the download feeding this unpack was abandoned")
            try:
                return self._queue.get(timeout=WAIT_S)
            except queue.Empty:
                continue
