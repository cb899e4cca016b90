"""The probe manager drives workers in virtual time and publishes result changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from api.model.core_v1 import Container, ExecAction, Probe
from kubelet.probes.manager import ProbeManager
from kubelet.probes.types import (
    ProbeError,
    ProbeKind,
    ProbeOutcome,
    ProbeResult,
    ProbeTarget,
    failure,
    success,
)
from kubelet.probes.worker import ResultChange

WAIT_S = 5.0


class VirtualClock:
    """Time that jumps forward whenever the (single) probe task sleeps."""

    def __init__(self) -> None:
        self.time = 1000.0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += seconds
        await asyncio.sleep(0)


class ScriptedRunner:
    """Answers each probe command with the next outcome of its script (the last one repeats)."""

    def __init__(self, **scripts: list[ProbeOutcome | ProbeError]) -> None:
        self.scripts = scripts
        self.runs: list[tuple[str, float]] = []
        self.clock: VirtualClock | None = None

    async def run(self, probe: Probe, target: ProbeTarget) -> ProbeOutcome:
        assert probe.exec is not None and self.clock is not None
        name = probe.exec.command[0]
        self.runs.append((name, self.clock.now()))
        script = self.scripts[name]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, ProbeError):
            raise answer
        return answer


def exec_probe(name: str, *, period_seconds: int, failure_threshold: int | None = None) -> Probe:
    return Probe(
        exec=ExecAction(command=(name,)), period_seconds=period_seconds, failure_threshold=failure_threshold
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def cleanup() -> AsyncIterator[list[ProbeManager]]:
    managers: list[ProbeManager] = []
    yield managers
    for manager in managers:
        await manager.close()


def manager_for(runner: ScriptedRunner, clock: VirtualClock, cleanup: list[ProbeManager]) -> ProbeManager:
    runner.clock = clock
    manager = ProbeManager(runner, clock=clock)
    cleanup.append(manager)
    return manager


TARGET = ProbeTarget(container_id="c1", pod_ip="10.0.0.5")


async def test_liveness_failure_is_published_after_the_threshold(
    clock: VirtualClock, cleanup: list[ProbeManager]
) -> None:
    runner = ScriptedRunner(live=[success(), failure("dead")])
    manager = manager_for(runner, clock, cleanup)
    seen: list[ResultChange] = []
    manager.on_change = seen.append
    container = Container(
        name="app", liveness_probe=exec_probe("live", period_seconds=10, failure_threshold=3)
    )
    manager.add_container("pod1", container, TARGET)

    change = await asyncio.wait_for(manager.changes.get(), WAIT_S)
    assert change == ResultChange(
        container_id="c1", kind=ProbeKind.LIVENESS, result=ProbeResult.FAILURE, message="dead"
    )
    assert seen == [change]
    assert [t - 1000.0 for _, t in runner.runs] == [0.0, 10.0, 20.0, 30.0]
    verdicts = manager.verdicts(["c1"])
    assert verdicts.liveness_failed == {"c1"} and not verdicts.startup_pending


async def test_readiness_gated_by_startup_becomes_ready(
    clock: VirtualClock, cleanup: list[ProbeManager]
) -> None:
    runner = ScriptedRunner(start=[failure("booting"), failure("booting"), success()], ready=[success()])
    manager = manager_for(runner, clock, cleanup)
    container = Container(
        name="app",
        startup_probe=exec_probe("start", period_seconds=2, failure_threshold=10),
        readiness_probe=exec_probe("ready", period_seconds=5),
    )
    manager.add_container("pod1", container, TARGET)
    assert manager.verdicts(["c1"]).startup_pending == {"c1"}
    assert manager.ready_ids(["c1"]) == frozenset()

    started = await asyncio.wait_for(manager.changes.get(), WAIT_S)
    assert (started.kind, started.result) == (ProbeKind.STARTUP, ProbeResult.SUCCESS)
    ready = await asyncio.wait_for(manager.changes.get(), WAIT_S)
    assert (ready.kind, ready.result) == (ProbeKind.READINESS, ProbeResult.SUCCESS)
    assert [name for name, _ in runner.runs[:4]] == ["start", "start", "start", "ready"]
    assert manager.started_ids(["c1"]) == {"c1"} and manager.ready_ids(["c1"]) == {"c1"}
    assert manager.verdicts(["c1"]).startup_pending == frozenset()


async def test_probe_errors_are_discarded(clock: VirtualClock, cleanup: list[ProbeManager]) -> None:
    down = ProbeError("runtime down")
    runner = ScriptedRunner(live=[down, failure("dead"), down, failure("dead")])
    manager = manager_for(runner, clock, cleanup)
    container = Container(
        name="app", liveness_probe=exec_probe("live", period_seconds=1, failure_threshold=2)
    )
    manager.add_container("pod1", container, TARGET)
    change = await asyncio.wait_for(manager.changes.get(), WAIT_S)
    assert change.result is ProbeResult.FAILURE
    # Two failures in a row only counting the real results: the errors in between were dropped.
    assert len(runner.runs) == 4


async def test_unknown_and_unprobed_containers_count_as_started_and_ready(
    clock: VirtualClock, cleanup: list[ProbeManager]
) -> None:
    manager = manager_for(ScriptedRunner(), clock, cleanup)
    manager.add_container("pod1", Container(name="plain"), TARGET)
    assert manager.ready_ids(["c1", "other"]) == {"c1", "other"}
    assert manager.verdicts(["c1", "other"]).liveness_failed == frozenset()


async def test_removing_a_pod_stops_its_probes(clock: VirtualClock, cleanup: list[ProbeManager]) -> None:
    runner = ScriptedRunner(ready=[success()])
    manager = manager_for(runner, clock, cleanup)
    container = Container(name="app", readiness_probe=exec_probe("ready", period_seconds=1))
    manager.add_container("pod1", container, TARGET)
    await asyncio.wait_for(manager.changes.get(), WAIT_S)
    await manager.remove_pod("pod1")
    assert manager.probes("c1") is None
    runs = len(runner.runs)
    await clock.sleep(100)
    assert len(runner.runs) == runs


async def test_retain_forgets_replaced_containers_of_the_pod_only(
    clock: VirtualClock, cleanup: list[ProbeManager]
) -> None:
    manager = manager_for(ScriptedRunner(), clock, cleanup)
    plain = Container(name="plain")
    for pod, cid in (("pod1", "old"), ("pod1", "new"), ("pod2", "other")):
        manager.add_container(pod, plain, ProbeTarget(container_id=cid, pod_ip=""))
    await manager.retain("pod1", ["new"])
    assert manager.probes("old") is None
    assert manager.probes("new") is not None and manager.probes("other") is not None


async def test_initial_delay_counts_from_the_container_start(
    clock: VirtualClock, cleanup: list[ProbeManager]
) -> None:
    runner = ScriptedRunner(live=[failure("dead")])
    manager = manager_for(runner, clock, cleanup)
    probe = Probe(exec=ExecAction(command=("live",)), initial_delay_seconds=60, failure_threshold=1)
    manager.add_container("pod1", Container(name="app", liveness_probe=probe), TARGET, running_for_s=45)
    await asyncio.wait_for(manager.changes.get(), WAIT_S)
    assert [t - 1000.0 for _, t in runner.runs] == [15.0]
