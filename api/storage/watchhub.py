"""In-process watch fan-out for the embedded backends: history replay, then live events pushed by the writer.

Each watcher has a bounded buffer; one that falls behind is cancelled with a reason, never skipped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from api.storage.errors import WatchCancelled
from api.storage.keys import in_range
from api.storage.types import Event, WatchBatch

HistoryReader = Callable[[int, int], Awaitable[list[WatchBatch]]]
"""Reads stored batches with from_revision <= revision <= to_revision (a bounded page)."""


@dataclass(frozen=True)
class WatchFilter:
    key: bytes
    range_end: bytes
    prev_kv: bool

    def select(self, batch: WatchBatch) -> WatchBatch | None:
        events = tuple(self._shape(e) for e in batch.events if in_range(e.kv.key, self.key, self.range_end))
        return WatchBatch(batch.revision, events) if events else None

    def _shape(self, event: Event) -> Event:
        return event if self.prev_kv or event.prev_kv is None else replace(event, prev_kv=None)


class _LiveQueue:
    def __init__(self, watch_filter: WatchFilter, *, buffer: int) -> None:
        self.filter = watch_filter
        self.buffer = buffer
        self.batches: deque[WatchBatch] = deque()
        self.ready = asyncio.Event()
        self.cancel_reason: str | None = None

    def offer(self, batch: WatchBatch) -> None:
        if self.cancel_reason is not None:
            return
        selected = self.filter.select(batch)
        if selected is None:
            return
        if len(self.batches) >= self.buffer:
            self.batches.clear()
            self.cancel_reason = (
                f"watcher fell more than {self.buffer} revisions behind at revision {batch.revision}; "
                "watch again from the last revision received"
            )
        else:
            self.batches.append(selected)
        self.ready.set()

    def offer_progress(self, revision: int) -> None:
        """Every event up to ``revision`` is already queued ahead of this marker."""
        self.batches.append(WatchBatch(revision))
        self.ready.set()

    def cancel(self, reason: str) -> None:
        self.cancel_reason = reason
        self.ready.set()


class WatchHub:
    def __init__(self, *, buffer: int = 10_000) -> None:
        self.buffer = buffer
        self.revision = 0
        """The last revision published (the backend sets it at open)."""
        self._queues: set[_LiveQueue] = set()

    def publish(self, batches: list[WatchBatch]) -> None:
        if batches:
            self.revision = batches[-1].revision
        for queue in list(self._queues):
            for batch in batches:
                queue.offer(batch)

    def close(self, reason: str) -> None:
        for queue in list(self._queues):
            queue.cancel(reason)
        self._queues.clear()

    def subscribe(self, watch_filter: WatchFilter) -> _LiveQueue:
        queue = _LiveQueue(watch_filter, buffer=self.buffer)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: _LiveQueue) -> None:
        self._queues.discard(queue)


class HubWatch:
    """Replays history in [start, snapshot] page by page, then follows the live queue past ``snapshot``."""

    HISTORY_PAGE_REVISIONS = 1000

    def __init__(
        self,
        hub: WatchHub,
        queue: _LiveQueue,
        *,
        history: HistoryReader,
        start_revision: int,
        snapshot_revision: int,
    ) -> None:
        self._hub = hub
        self._queue = queue
        self._history = history
        self._next = start_revision
        self._snapshot = snapshot_revision
        self._closed = False
        self._iterator: AsyncIterator[WatchBatch] | None = None

    def __aiter__(self) -> AsyncIterator[WatchBatch]:
        """One iterator per watch: iterating again continues where the last one stopped."""
        if self._iterator is None:
            self._iterator = self._batches()
        return self._iterator

    async def request_progress(self) -> None:
        self._queue.offer_progress(self._hub.revision)

    async def close(self) -> None:
        self._closed = True
        self._hub.unsubscribe(self._queue)
        self._queue.ready.set()

    async def _batches(self) -> AsyncIterator[WatchBatch]:
        while self._next <= self._snapshot and not self._closed:
            upper = min(self._snapshot, self._next + self.HISTORY_PAGE_REVISIONS - 1)
            for batch in await self._history(self._next, upper):
                selected = self._queue.filter.select(batch)
                if selected is not None:
                    yield selected
            self._next = upper + 1
        while not self._closed:
            live = await self._next_live()
            if live is None:
                return
            if not live.events:
                yield live
            elif live.revision >= self._next:
                self._next = live.revision + 1
                yield live

    async def _next_live(self) -> WatchBatch | None:
        queue = self._queue
        while not queue.batches:
            if queue.cancel_reason is not None:
                self._hub.unsubscribe(queue)
                raise WatchCancelled(queue.cancel_reason)
            if self._closed:
                return None
            queue.ready.clear()
            await queue.ready.wait()
        return queue.batches.popleft()
