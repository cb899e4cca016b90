"""The probe timing state machine, driven with explicit times (no clock, no sleeps)."""

from __future__ import annotations

from api.model.core_v1 import Container, ExecAction, Probe
from kubelet.probes.types import ProbeKind, ProbeResult, failure, success
from kubelet.probes.worker import ContainerProbes, ProbeWorker, ResultChange

EXEC = ExecAction(command=("true",))


def probe(
    *,
    initial_delay_seconds: int | None = None,
    period_seconds: int | None = None,
    success_threshold: int | None = None,
    failure_threshold: int | None = None,
) -> Probe:
    return Probe(
        exec=EXEC,
        initial_delay_seconds=initial_delay_seconds,
        period_seconds=period_seconds,
        success_threshold=success_threshold,
        failure_threshold=failure_threshold,
    )


def worker(kind: ProbeKind, **timing: int) -> ProbeWorker:
    return ProbeWorker(kind=kind, probe=probe(**timing), container_id="c1", started_at=100.0)


def test_initial_results_follow_the_kubelet() -> None:
    assert worker(ProbeKind.LIVENESS).result is ProbeResult.SUCCESS
    assert worker(ProbeKind.READINESS).result is ProbeResult.FAILURE
    assert worker(ProbeKind.STARTUP).result is ProbeResult.UNKNOWN


def test_first_probe_waits_for_the_initial_delay_then_runs_every_period() -> None:
    w = worker(ProbeKind.READINESS, initial_delay_seconds=5, period_seconds=3)
    assert not w.is_due(104.9)
    assert w.is_due(105.0)
    w.observe(success(), 105.0)
    assert not w.is_due(107.9)
    assert w.due_at() == 108.0


def test_default_period_is_ten_seconds() -> None:
    w = worker(ProbeKind.READINESS)
    w.observe(success(), 100.0)
    assert w.due_at() == 110.0


def test_readiness_needs_success_threshold_successes_in_a_row() -> None:
    w = worker(ProbeKind.READINESS, success_threshold=2, period_seconds=1)
    assert w.observe(success(), 100) is None
    assert w.observe(failure("nope"), 101) is None
    assert w.observe(success(), 102) is None
    change = w.observe(success(), 103)
    assert change == ResultChange(container_id="c1", kind=ProbeKind.READINESS, result=ProbeResult.SUCCESS)
    assert w.result is ProbeResult.SUCCESS


def test_readiness_failure_needs_failure_threshold_and_keeps_probing() -> None:
    w = worker(ProbeKind.READINESS, failure_threshold=2, period_seconds=1)
    w.observe(success(), 100)
    assert w.result is ProbeResult.SUCCESS
    assert w.observe(failure("503"), 101) is None
    change = w.observe(failure("503"), 102)
    assert change is not None and change.result is ProbeResult.FAILURE and change.message == "503"
    assert w.due_at() == 103
    assert w.observe(success(), 103) is not None
    assert w.result is ProbeResult.SUCCESS


def test_liveness_failing_failure_threshold_times_goes_on_hold() -> None:
    w = worker(ProbeKind.LIVENESS, failure_threshold=3, period_seconds=2)
    assert w.observe(failure("x"), 100) is None
    assert w.observe(failure("x"), 102) is None
    assert w.result is ProbeResult.SUCCESS
    change = w.observe(failure("x"), 104)
    assert change is not None and change.result is ProbeResult.FAILURE
    assert w.on_hold and w.due_at() is None and not w.is_due(1e9)


def test_a_success_resets_the_failure_run() -> None:
    w = worker(ProbeKind.LIVENESS, failure_threshold=2)
    w.observe(failure("x"), 100)
    w.observe(success(), 110)
    assert w.observe(failure("x"), 120) is None
    assert w.result is ProbeResult.SUCCESS


def test_repeated_same_result_publishes_no_change() -> None:
    w = worker(ProbeKind.READINESS)
    assert w.observe(success(), 100) is not None
    assert w.observe(success(), 110) is None


def container(
    *,
    startup_probe: Probe | None = None,
    liveness_probe: Probe | None = None,
    readiness_probe: Probe | None = None,
) -> Container:
    return Container(
        name="app",
        image="busybox",
        startup_probe=startup_probe,
        liveness_probe=liveness_probe,
        readiness_probe=readiness_probe,
    )


def test_startup_gates_liveness_and_readiness_until_it_succeeds() -> None:
    c = container(
        startup_probe=probe(period_seconds=1, failure_threshold=30),
        liveness_probe=probe(period_seconds=5),
        readiness_probe=probe(period_seconds=5),
    )
    probes = ContainerProbes(c, container_id="c1", started_at=0.0)
    assert not probes.started and not probes.ready
    due = probes.due(0.0)
    assert [w.kind for w in due] == [ProbeKind.STARTUP]
    probes.observe(ProbeKind.STARTUP, failure("starting"), 0.0)
    assert [w.kind for w in probes.due(1.0)] == [ProbeKind.STARTUP]
    change = probes.observe(ProbeKind.STARTUP, success(), 1.0)
    assert change is not None and change.result is ProbeResult.SUCCESS
    assert probes.started and not probes.ready
    # Liveness and readiness run right away once startup is done, and startup stops.
    assert sorted(w.kind for w in probes.due(1.0)) == [ProbeKind.LIVENESS, ProbeKind.READINESS]
    assert probes.workers[ProbeKind.STARTUP].due_at() is None
    probes.observe(ProbeKind.READINESS, success(), 1.0)
    assert probes.ready


def test_startup_failing_stops_all_probing() -> None:
    c = container(startup_probe=probe(period_seconds=1, failure_threshold=2), liveness_probe=probe())
    probes = ContainerProbes(c, container_id="c1", started_at=0.0)
    probes.observe(ProbeKind.STARTUP, failure("no"), 0.0)
    change = probes.observe(ProbeKind.STARTUP, failure("no"), 1.0)
    assert change is not None and change.result is ProbeResult.FAILURE
    assert probes.workers[ProbeKind.STARTUP].on_hold
    assert probes.due(100.0) == []
    assert not probes.started


def test_initial_delay_still_applies_after_startup_triggers() -> None:
    c = container(startup_probe=probe(period_seconds=1), liveness_probe=probe(initial_delay_seconds=30))
    probes = ContainerProbes(c, container_id="c1", started_at=0.0)
    probes.observe(ProbeKind.STARTUP, success(), 0.0)
    assert probes.due(1.0) == []
    assert probes.next_due() == 30.0


def test_container_without_probes_is_started_and_ready() -> None:
    probes = ContainerProbes(container(), container_id="c1", started_at=0.0)
    assert probes.started and probes.ready and probes.next_due() is None


def test_a_failed_probe_with_its_own_grace_period_overrides_the_pods() -> None:
    live = probe(failure_threshold=1).replace(termination_grace_period_seconds=3)
    probes = ContainerProbes(container(liveness_probe=live), container_id="c1", started_at=0.0)
    assert probes.kill_grace_seconds is None
    probes.observe(ProbeKind.LIVENESS, failure("dead"), 0.0)
    assert probes.kill_grace_seconds == 3
