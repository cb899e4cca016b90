"""A work queue of keys for controllers: deduplicated, never handing out a key that is being processed,
with delayed and rate-limited re-adds and a clean shutdown (client-go's rate-limiting queue).

Workers loop ``key = await queue.get()`` ... ``queue.done(key)``; ``get`` raises ``ShutDown`` once the
queue is shut down and drained of ready keys.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from api.client.clock import Clock, MonotonicClock
from api.client.metrics import QueueMetrics
from api.client.ratelimit import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    pass


class WorkQueue(Generic[T]):
    def __init__(
        self,
        *,
        name: str = "",
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self.name = name
        self.metrics = metrics
        self.clock: Clock = clock or MonotonicClock()
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(self.clock)
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: dict[T, float] = {}
        self._added_at: dict[T, float] = {}
        self._started_at: dict[T, float] = {}
        self._changed = asyncio.Event()
        self._shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, item: T) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if self.metrics is not None:
            self.metrics.adds.labels(self.name).inc()
        self._added_at.setdefault(item, self.clock.now())
        if item not in self._processing:
            self._push(item)

    def _push(self, item: T) -> None:
        self._queue.append(item)
        self._changed.set()
        if self.metrics is not None:
            self.metrics.depth.labels(self.name).set(len(self._queue))

    def add_after(self, item: T, delay_s: float) -> None:
        if self._shutting_down:
            return
        if delay_s <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + delay_s
        if ready_at < self._waiting.get(item, float("inf")):
            self._waiting[item] = ready_at
            self._changed.set()

    def add_rate_limited(self, item: T) -> None:
        if self.metrics is not None:
            self.metrics.retries.labels(self.name).inc()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Stops counting ``item``'s failures: call after it was processed successfully."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.retries(item)

    async def get(self) -> T:
        while True:
            self._promote_ready()
            if self._queue:
                item = self._queue.popleft()
                self._processing.add(item)
                self._dirty.discard(item)
                self._record_start(item)
                return item
            if self._shutting_down:
                raise ShutDown
            self._changed.clear()
            await self._wait_for_change()

    def done(self, item: T) -> None:
        self._processing.discard(item)
        started = self._started_at.pop(item, None)
        if self.metrics is not None and started is not None:
            self.metrics.work_duration.labels(self.name).observe(self.clock.now() - started)
        if item in self._dirty:
            self._push(item)

    def _record_start(self, item: T) -> None:
        now = self.clock.now()
        self._started_at[item] = now
        added = self._added_at.pop(item, now)
        if self.metrics is not None:
            self.metrics.queue_duration.labels(self.name).observe(now - added)
            self.metrics.depth.labels(self.name).set(len(self._queue))

    def shut_down(self) -> None:
        """Refuses new keys; workers get what is already queued, then ``ShutDown``."""
        self._shutting_down = True
        self._waiting.clear()
        self._changed.set()

    def _promote_ready(self) -> None:
        now = self.clock.now()
        for item in [i for i, ready_at in self._waiting.items() if ready_at <= now]:
            del self._waiting[item]
            self.add(item)

    async def _wait_for_change(self) -> None:
        if not self._waiting:
            await self._changed.wait()
            return
        delay = min(self._waiting.values()) - self.clock.now()
        changed = asyncio.ensure_future(self._changed.wait())
        timer = asyncio.ensure_future(self.clock.sleep(delay))
        try:
            await asyncio.wait((changed, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Not awaited: awaiting a cancelled waiter here could swallow this task's own cancellation.
            changed.cancel()
            timer.cancel()
