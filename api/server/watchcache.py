"""One store watch per resource, fanned out to every API watcher of that resource.

The cache keeps the recent events (decoded once) so a watch from a recent resourceVersion is served
from memory; one older than what the cache holds gets 410 Expired, as kube-apiserver's cache does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from dataclasses import dataclass, field

from api.machinery import status as errors
from api.registry.strategy import Object, Strategy
from api.server.objects import decode, json_bytes
from api.storage import Store, StoreError, Watch, prefix_end
from api.storage.types import Event, EventType, WatchBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    revision: int
    type: str  # ADDED, MODIFIED, DELETED
    obj: Object
    previous: Object | None
    lines: dict[str, bytes] = field(default_factory=dict, compare=False)

    def line(self, kind: str) -> bytes:
        """The watch event line for this change as ``kind``, encoded once for every watcher."""
        encoded = self.lines.get(kind)
        if encoded is None:
            encoded = self.lines[kind] = json_bytes({"type": kind, "object": self.obj}) + b"\n"
        return encoded


class Subscriber:
    """Changes after ``after``, in order; ``None`` in the queue ends the watch (the cache dropped it)."""

    def __init__(self, after: int, capacity: int) -> None:
        self.after = after
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue(capacity)
        self.closed = False

    def offer(self, change: Change) -> bool:
        if change.revision <= self.after:
            return True
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


def _change(event: Event) -> Change:
    revision = event.kv.mod_revision
    previous = decode(event.prev_kv.value, event.prev_kv.mod_revision) if event.prev_kv else None
    if event.type is EventType.DELETE:
        assert event.prev_kv is not None
        return Change(revision, "DELETED", decode(event.prev_kv.value, revision), previous)
    kind = "ADDED" if event.kv.version == 1 else "MODIFIED"
    return Change(revision, kind, decode(event.kv.value, revision), previous)


class WatchCache:
    def __init__(self, store: Store, strategy: Strategy, *, capacity: int = 20_000,
                 subscriber_capacity: int = 10_000) -> None:
        self.store = store
        self.strategy = strategy
        self.capacity = capacity
        self.subscriber_capacity = subscriber_capacity
        self.revision = 0  # every change up to here has been seen
        self.oldest = 0  # every change after this is in the buffer
        self._buffer: collections.deque[Change] = collections.deque()
        self._subscribers: set[Subscriber] = set()
        self._started: asyncio.Task[None] | None = None
        self._progress = asyncio.Condition()

    async def start(self, tasks: asyncio.TaskGroup) -> None:
        if self._started is not None:
            return
        revision = await self.store.current_revision()
        self.revision = self.oldest = revision
        prefix = self.strategy.prefix.encode()
        watch = await self.store.watch(prefix, range_end=prefix_end(prefix), start_revision=revision + 1,
                                       prev_kv=True, progress_notify=True)
        self._started = tasks.create_task(self._follow(watch), name=f"watch-cache-{self.strategy.plural}")

    async def _follow(self, watch: Watch) -> None:
        try:
            async for batch in watch:
                await self._apply(batch)
        except StoreError as exc:
            log.warning("watch cache %s: store watch ended: %s", self.strategy.plural, exc)
        finally:
            await watch.close()
            for subscriber in list(self._subscribers):
                subscriber.end()
            self._subscribers.clear()
            self._started = None

    async def _apply(self, batch: WatchBatch) -> None:
        for event in batch.events:
            change = _change(event)
            self._buffer.append(change)
            for subscriber in list(self._subscribers):
                if not subscriber.offer(change):
                    log.info("watch cache %s: dropping a watcher that fell behind", self.strategy.plural)
                    self._subscribers.discard(subscriber)
                    subscriber.end()
        while len(self._buffer) > self.capacity:
            self.oldest = self._buffer.popleft().revision
        self.revision = max(self.revision, batch.revision)
        async with self._progress:
            self._progress.notify_all()

    def subscribe(self, after: int) -> Subscriber:
        """Changes after revision ``after``; 410 Expired when the cache no longer has them all."""
        if after < self.oldest:
            raise errors.expired(f"too old resource version: {after} ({self.oldest + 1})")
        subscriber = Subscriber(after, self.subscriber_capacity)
        for change in self._buffer:
            if change.revision > after and not subscriber.offer(change):
                raise errors.expired(f"too old resource version: {after} ({self.oldest + 1})")
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def watchers(self) -> int:
        return len(self._subscribers)


class WatchCaches:
    """The caches of every resource, started on first use under the server's task group."""

    def __init__(self, store: Store, tasks: asyncio.TaskGroup) -> None:
        self._store = store
        self._tasks = tasks
        self._caches: dict[str, WatchCache] = {}
        self._lock = asyncio.Lock()

    def close(self) -> None:
        for cache in self._caches.values():
            if cache._started is not None:
                cache._started.cancel()

    async def of(self, strategy: Strategy) -> WatchCache:
        cache = self._caches.get(strategy.prefix)
        if cache is None:
            cache = self._caches[strategy.prefix] = WatchCache(self._store, strategy)
        if cache._started is None:
            async with self._lock:
                await cache.start(self._tasks)
        return cache
