"""Pod status computed from the runtime view: phase, container states, conditions."""

from __future__ import annotations

from api.core.v1.pods import pod_uid
from api.model.core_v1 import PodStatus
from kubelet.actions import Waiting
from kubelet.runtime_view import RuntimePod
from kubelet.status import StatusInputs, pod_status

from .podspecs import exited, make_pod, running, runtime_pod


def _inputs(**overrides: object) -> StatusInputs:
    values: dict[str, object] = {"runtime_name": "containerd", "host_ip": "192.0.2.10", "now": 5000.0}
    values.update(overrides)
    return StatusInputs(**values)  # type: ignore[arg-type]


def _conditions(status: PodStatus) -> dict[str, str]:
    return {c.type: c.status for c in status.conditions}


def test_new_pod_is_pending_with_creating_containers() -> None:
    pod = make_pod()
    status = pod_status(pod, RuntimePod(uid=pod_uid(pod), sandboxes=()), _inputs(), previous=None)
    assert status.phase == "Pending"
    waiting = status.container_statuses[0].state.waiting  # type: ignore[union-attr]
    assert waiting is not None and waiting.reason == "ContainerCreating"
    assert _conditions(status)["PodReadyToStartContainers"] == "False"


def test_running_ready_pod() -> None:
    pod = make_pod()
    runtime = runtime_pod(pod, running(pod, "app", "c1"))
    status = pod_status(
        pod, runtime, _inputs(ready=frozenset({"c1"}), started=frozenset({"c1"})), previous=None
    )
    assert status.phase == "Running"
    assert status.pod_ip == "10.1.0.5" and status.host_ip == "192.0.2.10"
    assert _conditions(status) == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    container = status.container_statuses[0]
    assert container.ready and container.started
    assert container.container_id == "containerd://c1"
    assert status.qos_class == "BestEffort"


def test_unready_container_is_named_in_the_condition() -> None:
    pod = make_pod()
    status = pod_status(
        pod, runtime_pod(pod, running(pod, "app", "c1")), _inputs(started=frozenset({"c1"})), previous=None
    )
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "ContainersNotReady",
        "containers with unready status: [app]",
    )


def test_crash_looping_container_waits_with_its_last_termination() -> None:
    pod = make_pod()
    runtime = runtime_pod(pod, exited(pod, "app", "c2", code=1, restarts=1), exited(pod, "app", "c1", code=1))
    waiting = {"app": Waiting(reason="CrashLoopBackOff", message="back-off 20s ...")}
    status = pod_status(pod, runtime, _inputs(waiting=waiting), previous=None)
    container = status.container_statuses[0]
    assert container.state is not None and container.state.waiting is not None
    assert container.state.waiting.reason == "CrashLoopBackOff"
    assert container.last_state is not None and container.last_state.terminated is not None
    assert container.last_state.terminated.exit_code == 1
    assert container.restart_count == 1
    assert status.phase == "Running"


def test_job_like_pods_succeed_or_fail() -> None:
    pod = make_pod(restartPolicy="Never")
    ok = pod_status(pod, runtime_pod(pod, exited(pod, "app", "c1", code=0)), _inputs(), previous=None)
    assert ok.phase == "Succeeded"
    terminated = ok.container_statuses[0].state.terminated  # type: ignore[union-attr]
    assert terminated is not None and terminated.reason == "Completed"
    failed = pod_status(pod, runtime_pod(pod, exited(pod, "app", "c1", code=2)), _inputs(), previous=None)
    assert failed.phase == "Failed"
    assert failed.container_statuses[0].state.terminated.reason == "Error"  # type: ignore[union-attr]


def test_init_containers_gate_initialized() -> None:
    pod = make_pod(initContainers=[{"name": "init", "image": "x:1"}])
    status = pod_status(pod, runtime_pod(pod, running(pod, "init", "i1")), _inputs(), previous=None)
    assert status.phase == "Pending"
    initialized = next(c for c in status.conditions if c.type == "Initialized")
    assert (initialized.status, initialized.message) == ("False", "containers with incomplete status: [init]")
    assert status.container_statuses[0].state.waiting.reason == "PodInitializing"  # type: ignore[union-attr]


def test_transition_times_are_kept_while_a_condition_holds() -> None:
    pod = make_pod()
    runtime = runtime_pod(pod, running(pod, "app", "c1"))
    first = pod_status(pod, runtime, _inputs(now=1000.0), previous=None)
    second = pod_status(pod, runtime, _inputs(now=2000.0), previous=first)
    assert [c.last_transition_time for c in second.conditions] == [
        c.last_transition_time for c in first.conditions
    ]
    ready = pod_status(
        pod, runtime, _inputs(now=3000.0, ready=frozenset({"c1"}), started=frozenset({"c1"})), previous=second
    )
    changed = next(c for c in ready.conditions if c.type == "Ready")
    assert changed.last_transition_time == "1970-01-01T00:50:00Z"


def test_qos_classes() -> None:
    guaranteed = make_pod(
        containers=[{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]
    )
    burstable = make_pod(
        containers=[{"name": "a", "image": "x:1", "resources": {"requests": {"cpu": "100m"}}}]
    )
    for pod, expected in ((guaranteed, "Guaranteed"), (burstable, "Burstable")):
        status = pod_status(pod, RuntimePod(uid=pod_uid(pod)), _inputs(), previous=None)
        assert status.qos_class == expected
