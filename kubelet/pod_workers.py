"""One worker task per pod: the latest desired state wins; a removed pod is terminated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api.core.v1.pods import pod_name, pod_uid
from api.model.core_v1 import Pod

log = logging.getLogger(__name__)

SyncFn = Callable[[Pod], Awaitable[float]]
TerminateFn = Callable[[Pod], Awaitable[None]]


@dataclass
class _Worker:
    desired: Pod
    removed: bool
    wake: asyncio.Event
    task: asyncio.Task[None] | None = None


class PodWorkers:
    """``sync(pod)`` returns how long until the pod wants another look (e.g. a back-off expiring)."""

    def __init__(self, *, sync: SyncFn, terminate: TerminateFn) -> None:
        self._sync = sync
        self._terminate = terminate
        self._workers: dict[str, _Worker] = {}
        self.terminated = asyncio.Event()

    def update(self, pod: Pod) -> None:
        worker = self._workers.get(pod_uid(pod))
        if worker is None:
            worker = _Worker(desired=pod, removed=False, wake=asyncio.Event())
            self._workers[pod_uid(pod)] = worker
            worker.task = asyncio.create_task(
                self._run(pod_uid(pod), worker), name=f"pod-worker-{pod_name(pod)}"
            )
        else:
            worker.desired, worker.removed = pod, False
        worker.wake.set()

    def remove(self, uid: str) -> None:
        worker = self._workers.get(uid)
        if worker is not None:
            worker.removed = True
            worker.wake.set()

    def wake(self, uid: str) -> None:
        worker = self._workers.get(uid)
        if worker is not None:
            worker.wake.set()

    def known(self) -> set[str]:
        return set(self._workers)

    async def _run(self, uid: str, worker: _Worker) -> None:
        try:
            while True:
                worker.wake.clear()
                if worker.removed:
                    await self._terminate(worker.desired)
                    return
                try:
                    next_in = await self._sync(worker.desired)
                except Exception:
                    log.exception("sync of pod %s failed", pod_name(worker.desired))
                    next_in = 1.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.wake.wait(), next_in)
        finally:
            self._workers.pop(uid, None)
            self.terminated.set()

    async def stop(self) -> None:
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
