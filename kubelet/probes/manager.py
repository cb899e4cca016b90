"""Drives the probe workers of running containers and publishes result changes.

One task per probed container runs its due probes (concurrently, each bounded by its
``timeoutSeconds``), feeds the outcomes to the pure state machine and sleeps until the next
one is due. Changes go to ``changes`` (an asyncio queue) and to the optional callback; the pod
workers read the cached state through ``verdicts``, ``ready_ids`` and ``started_ids``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from api.model.core_v1 import Container, Probe
from kubelet.actions import ProbeVerdicts
from kubelet.probes.types import ProbeError, ProbeKind, ProbeOutcome, ProbeResult, ProbeTarget
from kubelet.probes.worker import ContainerProbes, ProbeWorker, ResultChange

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Runner(Protocol):
    async def run(self, probe: Probe, target: ProbeTarget) -> ProbeOutcome: ...


@dataclass(frozen=True, kw_only=True)
class _Entry:
    pod_uid: str
    probes: ContainerProbes
    task: asyncio.Task[None] | None


class ProbeManager:
    def __init__(
        self,
        runner: Runner,
        *,
        clock: Clock | None = None,
        on_change: Callable[[ResultChange], None] | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock or MonotonicClock()
        self.on_change = on_change
        self.changes: asyncio.Queue[ResultChange] = asyncio.Queue()
        self._entries: dict[str, _Entry] = {}

    def add_container(
        self, pod_uid: str, container: Container, target: ProbeTarget, *, running_for_s: float = 0.0
    ) -> ContainerProbes:
        """Starts probing a running container; ``running_for_s`` is how long it has been running
        (now minus its CRI ``started_at``), so ``initialDelaySeconds`` counts from its real start,
        also for containers adopted after a kubelet restart.

        Idempotent per container id: a container already known keeps its state.
        """
        existing = self._entries.get(target.container_id)
        if existing is not None:
            return existing.probes
        begun = self.clock.now() - max(0.0, running_for_s)
        probes = ContainerProbes(container, container_id=target.container_id, started_at=begun)
        task = None
        if probes.workers:
            task = asyncio.create_task(self._drive(probes, target), name=f"probes {target.container_id[:12]}")
            task.add_done_callback(_log_crash)
        self._entries[target.container_id] = _Entry(pod_uid=pod_uid, probes=probes, task=task)
        return probes

    async def remove_container(self, container_id: str) -> None:
        entry = self._entries.pop(container_id, None)
        if entry is not None:
            await _cancel(entry.task)

    async def remove_pod(self, pod_uid: str) -> None:
        for container_id in [cid for cid, e in self._entries.items() if e.pod_uid == pod_uid]:
            await self.remove_container(container_id)

    async def retain(self, pod_uid: str, container_ids: Iterable[str]) -> None:
        """Forgets the pod's containers not in ``container_ids`` (exited or replaced ones)."""
        keep = set(container_ids)
        for container_id in [cid for cid, e in self._entries.items() if e.pod_uid == pod_uid]:
            if container_id not in keep:
                await self.remove_container(container_id)

    async def close(self) -> None:
        for container_id in list(self._entries):
            await self.remove_container(container_id)

    def probes(self, container_id: str) -> ContainerProbes | None:
        entry = self._entries.get(container_id)
        return None if entry is None else entry.probes

    def verdicts(self, container_ids: Iterable[str]) -> ProbeVerdicts:
        """What compute-pod-actions needs: failed liveness/startup, startup still running."""
        known = [p for cid in container_ids if (p := self.probes(cid)) is not None]
        return ProbeVerdicts(
            liveness_failed=_with_result(known, ProbeKind.LIVENESS, ProbeResult.FAILURE),
            startup_failed=_with_result(known, ProbeKind.STARTUP, ProbeResult.FAILURE),
            startup_pending=frozenset(p.container_id for p in known if not p.started),
        )

    def started_ids(self, container_ids: Iterable[str]) -> frozenset[str]:
        """Containers counted as started; one the manager never saw counts as started."""
        return frozenset(cid for cid in container_ids if (p := self.probes(cid)) is None or p.started)

    def ready_ids(self, container_ids: Iterable[str]) -> frozenset[str]:
        """Containers counted as ready; one without probes (or never added) is ready once running."""
        return frozenset(cid for cid in container_ids if (p := self.probes(cid)) is None or p.ready)

    async def _drive(self, probes: ContainerProbes, target: ProbeTarget) -> None:
        while (due_at := probes.next_due()) is not None:
            delay = due_at - self.clock.now()
            if delay > 0:
                await self.clock.sleep(delay)
            now = self.clock.now()
            workers = probes.due(now)
            outcomes = await asyncio.gather(*(self._run_one(w, target) for w in workers))
            for worker, outcome in zip(workers, outcomes, strict=True):
                if outcome is None:
                    worker.skip(now)
                    continue
                change = probes.observe(worker.kind, outcome, self.clock.now())
                if change is not None:
                    self._publish(change)

    async def _run_one(self, worker: ProbeWorker, target: ProbeTarget) -> ProbeOutcome | None:
        try:
            return await self.runner.run(worker.probe, target)
        except ProbeError as exc:
            log.warning("%s probe of %s could not run: %s", worker.kind, target.container_id[:12], exc)
            return None

    def _publish(self, change: ResultChange) -> None:
        self.changes.put_nowait(change)
        if self.on_change is not None:
            self.on_change(change)


def _with_result(known: list[ContainerProbes], kind: ProbeKind, result: ProbeResult) -> frozenset[str]:
    return frozenset(p.container_id for p in known if p.result(kind) is result)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("probe task %s died", task.get_name(), exc_info=exc)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait([task])
