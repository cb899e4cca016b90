"""One worker task per pod: the latest desired state wins; a removed pod is terminated.

The workers run under ``run()``'s TaskGroup: a worker that fails (other than a sync or a
termination the runtime refused, which are retried) fails ``run()``, and cancelling ``run()``
stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api.core.v1.pods import pod_name, pod_uid
from api.model.core_v1 import Pod
from cri.errors import CRIError

log = logging.getLogger(__name__)
RETRY_S = 1.0

SyncFn = Callable[[Pod], Awaitable[float]]
TerminateFn = Callable[[Pod], Awaitable[None]]


@dataclass
class _Worker:
    desired: Pod
    removed: bool
    wake: asyncio.Event


class PodWorkers:
    """``sync(pod)`` returns how long until the pod wants another look (e.g. a back-off expiring)."""

    def __init__(self, *, sync: SyncFn, terminate: TerminateFn) -> None:
        self._sync = sync
        self._terminate = terminate
        self._workers: dict[str, _Worker] = {}
        self._group: asyncio.TaskGroup | None = None
        self.terminated = asyncio.Event()

    async def run(self) -> None:
        """Runs the workers until cancelled; pods updated before it runs start with it."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for uid, worker in self._workers.items():
                self._start(group, uid, worker)
            try:
                await asyncio.Event().wait()
            finally:
                self._group = None

    def update(self, pod: Pod) -> None:
        worker = self._workers.get(pod_uid(pod))
        if worker is None:
            worker = _Worker(desired=pod, removed=False, wake=asyncio.Event())
            self._workers[pod_uid(pod)] = worker
            if self._group is not None:
                self._start(self._group, pod_uid(pod), worker)
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

    def _start(self, group: asyncio.TaskGroup, uid: str, worker: _Worker) -> None:
        group.create_task(self._run(uid, worker), name=f"pod-worker-{pod_name(worker.desired)}")

    async def _run(self, uid: str, worker: _Worker) -> None:
        try:
            while True:
                worker.wake.clear()
                if worker.removed and await self._terminated(worker.desired):
                    return
                next_in = RETRY_S if worker.removed else await self._synced(worker.desired)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.wake.wait(), next_in)
        finally:
            self._workers.pop(uid, None)
            self.terminated.set()

    async def _synced(self, pod: Pod) -> float:
        try:
            return await self._sync(pod)
        except Exception:
            log.exception("sync of pod %s failed", pod_name(pod))
            return RETRY_S

    async def _terminated(self, pod: Pod) -> bool:
        try:
            await self._terminate(pod)
        except CRIError as exc:
            log.warning("terminating pod %s: %s; retrying", pod_name(pod), exc)
            return False
        return True
