"""The probe timing state machine, pure: no clock, no I/O; callers pass ``now`` in.

Follows the kubelet's prober worker: the first probe runs ``initialDelaySeconds`` after the
container started, then every ``periodSeconds``; a result is only published after
``successThreshold`` / ``failureThreshold`` identical results in a row; liveness and readiness
wait for the startup probe to succeed; a failed liveness or startup probe stops probing until
the container is replaced (a new container id gets fresh workers).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.model.core_v1 import Container, Probe
from kubelet.probes.types import ProbeKind, ProbeOutcome, ProbeResult

INITIAL_RESULT = {
    ProbeKind.LIVENESS: ProbeResult.SUCCESS,
    ProbeKind.READINESS: ProbeResult.FAILURE,
    ProbeKind.STARTUP: ProbeResult.UNKNOWN,
}


@dataclass(frozen=True, kw_only=True)
class ResultChange:
    """A published probe result changed (what pod workers react to)."""

    container_id: str
    kind: ProbeKind
    result: ProbeResult
    message: str = ""


class ProbeWorker:
    """One probe of one container: when it is due, and the result it has published."""

    def __init__(self, *, kind: ProbeKind, probe: Probe, container_id: str, started_at: float) -> None:
        self.kind = kind
        self.probe = probe
        self.container_id = container_id
        self.result = INITIAL_RESULT[kind]
        self.on_hold = False
        self._last_result = ProbeResult.UNKNOWN
        self._run = 0
        self._earliest = started_at + (probe.initial_delay_seconds or 0)
        self._next_due = self._earliest

    @property
    def period(self) -> float:
        return float(self.probe.period_seconds or 10)

    def due_at(self) -> float | None:
        """When the next probe should run; None while on hold."""
        return None if self.on_hold else max(self._next_due, self._earliest)

    def is_due(self, now: float) -> bool:
        due = self.due_at()
        return due is not None and now >= due

    def skip(self, now: float) -> None:
        """The probe was due but gated (startup not done yet): try again next period."""
        self._next_due = now + self.period

    def trigger(self, now: float) -> None:
        """Probe as soon as the initial delay allows (the startup probe just succeeded)."""
        self._next_due = now

    def observe(self, outcome: ProbeOutcome, now: float) -> ResultChange | None:
        """Records one probe run; returns the change if the published result changed."""
        self._next_due = now + self.period
        if outcome.result == self._last_result:
            self._run += 1
        else:
            self._last_result, self._run = outcome.result, 1
        if not self._threshold_reached(outcome.result):
            return None
        if self.kind is not ProbeKind.READINESS and outcome.result is ProbeResult.FAILURE:
            self.on_hold, self._run = True, 0
        if outcome.result == self.result:
            return None
        self.result = outcome.result
        return ResultChange(
            container_id=self.container_id, kind=self.kind, result=outcome.result, message=outcome.message
        )

    def _threshold_reached(self, result: ProbeResult) -> bool:
        if result is ProbeResult.SUCCESS:
            return self._run >= (self.probe.success_threshold or 1)
        if result is ProbeResult.FAILURE:
            return self._run >= (self.probe.failure_threshold or 3)
        return True


class ContainerProbes:
    """The probes of one running container, with startup gating liveness and readiness."""

    def __init__(self, container: Container, *, container_id: str, started_at: float) -> None:
        self.container_id = container_id
        self.container_name = container.name
        self.workers: dict[ProbeKind, ProbeWorker] = {}
        for kind, probe in (
            (ProbeKind.STARTUP, container.startup_probe),
            (ProbeKind.LIVENESS, container.liveness_probe),
            (ProbeKind.READINESS, container.readiness_probe),
        ):
            if probe is not None:
                self.workers[kind] = ProbeWorker(
                    kind=kind, probe=probe, container_id=container_id, started_at=started_at
                )

    @property
    def started(self) -> bool:
        """No startup probe, or it has succeeded."""
        startup = self.workers.get(ProbeKind.STARTUP)
        return startup is None or startup.result is ProbeResult.SUCCESS

    @property
    def ready(self) -> bool:
        readiness = self.workers.get(ProbeKind.READINESS)
        return self.started and (readiness is None or readiness.result is ProbeResult.SUCCESS)

    @property
    def kill_grace_seconds(self) -> int | None:
        """The failed liveness/startup probe's own ``terminationGracePeriodSeconds``, if it sets one
        (it overrides the pod's grace period for the kill that follows)."""
        for kind in (ProbeKind.STARTUP, ProbeKind.LIVENESS):
            worker = self.workers.get(kind)
            if worker is not None and worker.result is ProbeResult.FAILURE:
                return worker.probe.termination_grace_period_seconds
        return None

    def result(self, kind: ProbeKind) -> ProbeResult | None:
        worker = self.workers.get(kind)
        return None if worker is None else worker.result

    def due(self, now: float) -> list[ProbeWorker]:
        """The workers to run now; gated ones are pushed back a period."""
        due = []
        for worker in self.workers.values():
            if not worker.is_due(now):
                continue
            if worker.kind is ProbeKind.STARTUP and self.started:
                worker.on_hold = True
            elif worker.kind is not ProbeKind.STARTUP and not self.started:
                worker.skip(now)
            else:
                due.append(worker)
        return due

    def next_due(self) -> float | None:
        times = [t for w in self.workers.values() if (t := w.due_at()) is not None]
        return min(times, default=None)

    def observe(self, kind: ProbeKind, outcome: ProbeOutcome, now: float) -> ResultChange | None:
        change = self.workers[kind].observe(outcome, now)
        if change is not None and kind is ProbeKind.STARTUP and self.started:
            self.workers[kind].on_hold = True
            self._probe_now_after_startup(now)
        return change

    def _probe_now_after_startup(self, now: float) -> None:
        for kind in (ProbeKind.LIVENESS, ProbeKind.READINESS):
            worker = self.workers.get(kind)
            if worker is not None and not worker.on_hold:
                worker.trigger(now)
