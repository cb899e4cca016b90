"""The loop every controller runs: informer events enqueue keys, workers reconcile one key at a time.

A reconcile that raises is retried with the queue's rate limiter (5 ms doubling to 1000 s per key);
one that returns is forgotten. Reconciles must be level-triggered: they read the informers' caches
for the key's current state, whatever events led there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from api.client.clock import Clock
from api.client.informer import EventHandler, Informer
from api.client.metrics import QueueMetrics
from api.client.types import Obj, object_key
from api.client.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)

Reconcile = Callable[[str], Awaitable[None]]


class Controller:
    def __init__(
        self,
        name: str,
        reconcile: Reconcile,
        *,
        workers: int = 1,
        max_retries: int | None = None,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.max_retries = max_retries
        self.metrics = metrics
        self.queue: WorkQueue[str] = WorkQueue(name=name, clock=clock, metrics=metrics)

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(object_key(obj))

    def handler(self) -> EventHandler:
        """Enqueues the key of every added, changed and deleted object."""
        return EventHandler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new), on_delete=self.enqueue
        )

    async def run(self, informers: Sequence[Informer] = ()) -> None:
        """Waits for the informers' caches, then runs the workers until cancelled."""
        for informer in informers:
            await informer.wait_synced()
        log.info("%s: caches synced, starting %d workers", self.name, self.workers)
        try:
            async with asyncio.TaskGroup() as tasks:
                for _ in range(self.workers):
                    tasks.create_task(self._work())
        finally:
            self.queue.shut_down()

    async def _work(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self._reconcile_once(key)
            finally:
                self.queue.done(key)

    async def _reconcile_once(self, key: str) -> None:
        try:
            await self.reconcile(key)
        except Exception:
            if self.metrics is not None:
                self.metrics.reconcile_errors.labels(self.name).inc()
            retries = self.queue.num_requeues(key)
            if self.max_retries is not None and retries >= self.max_retries:
                log.exception("%s: dropping %s after %d retries", self.name, key, retries)
                self.queue.forget(key)
            else:
                log.exception("%s: reconciling %s failed, retrying", self.name, key)
                self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
