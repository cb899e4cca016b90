"""Pod status as the kubelet computes it: container states, phase, conditions, IPs, QoS class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.core.v1.pods import init_containers, pod_spec
from api.model.core_v1 import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    HostIP,
    Pod,
    PodCondition,
    PodIP,
    PodStatus,
)
from kubelet.actions import Waiting, is_sidecar
from kubelet.qos import qos_class
from kubelet.runtime_view import RuntimeContainer, RuntimePod


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts(nanoseconds: int) -> str | None:
    return rfc3339(nanoseconds / 1e9) if nanoseconds else None


@dataclass(frozen=True, kw_only=True)
class StatusInputs:
    """Everything the status depends on besides the spec and the runtime view."""

    runtime_name: str
    host_ip: str
    now: float
    ready: frozenset[str] = frozenset()
    started: frozenset[str] = frozenset()
    waiting: Mapping[str, Waiting] = field(default_factory=dict)
    start_time: float | None = None
    terminal_reason: str | None = None
    terminal_message: str | None = None


def terminated_reason(container: RuntimeContainer) -> str:
    if container.reason:
        return container.reason
    return "Completed" if container.exit_code == 0 else "Error"


def _terminated(container: RuntimeContainer, runtime_name: str) -> ContainerState:
    return ContainerState(
        terminated=ContainerStateTerminated(
            exit_code=container.exit_code,
            reason=terminated_reason(container),
            message=container.message or None,
            started_at=_ts(container.started_at),
            finished_at=_ts(container.finished_at),
            container_id=f"{runtime_name}://{container.id}",
        )
    )


def container_status(
    spec: Container, history: list[RuntimeContainer], inputs: StatusInputs, *, default_waiting: str
) -> ContainerStatus:
    latest = history[0] if history else None
    previous = next((c for c in history[1:] if c.exited), None)
    waiting = inputs.waiting.get(spec.name)
    base = ContainerStatus(
        name=spec.name, image=spec.image or "", image_id="", ready=False, restart_count=0, started=False
    )
    if latest is None:
        reason = waiting.reason if waiting else default_waiting
        message = waiting.message if waiting and waiting.message else None
        return base.replace(
            state=ContainerState(waiting=ContainerStateWaiting(reason=reason, message=message)),
        )
    status = base.replace(
        image_id=latest.image_ref,
        container_id=f"{inputs.runtime_name}://{latest.id}",
        restart_count=latest.restart_count,
    )
    if latest.running:
        started = latest.id in inputs.started
        return status.replace(
            state=ContainerState(running=ContainerStateRunning(started_at=_ts(latest.started_at))),
            last_state=_terminated(previous, inputs.runtime_name) if previous else ContainerState(),
            ready=started and latest.id in inputs.ready,
            started=started,
        )
    if latest.exited and waiting is not None:
        return status.replace(
            state=ContainerState(
                waiting=ContainerStateWaiting(reason=waiting.reason, message=waiting.message)
            ),
            last_state=_terminated(latest, inputs.runtime_name),
        )
    if latest.exited:
        return status.replace(
            state=_terminated(latest, inputs.runtime_name),
            last_state=_terminated(previous, inputs.runtime_name) if previous else ContainerState(),
        )
    return status.replace(state=ContainerState(waiting=ContainerStateWaiting(reason="ContainerCreating")))


def _is_waiting(status: ContainerStatus) -> bool:
    return status.state is not None and status.state.waiting is not None


def _exit_code(state: ContainerState | None) -> int | None:
    if state is None or state.terminated is None:
        return None
    return state.terminated.exit_code


def pod_phase(pod: Pod, init: list[ContainerStatus], regular: list[ContainerStatus]) -> str:
    policy = pod_spec(pod).restart_policy
    init_done = True
    for spec, status in zip(init_containers(pod), init, strict=True):
        if is_sidecar(spec):
            continue
        code = _exit_code(status.state)
        if code == 0:
            continue
        init_done = False
        last_failed = _exit_code(status.last_state) not in (None, 0) or (code not in (None, 0))
        if policy == "Never" and last_failed:
            return "Failed"
    if not init_done:
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for status in regular:
        state = status.state or ContainerState()
        if state.running is not None:
            running += 1
        elif state.terminated is not None:
            stopped += 1
            succeeded += state.terminated.exit_code == 0
        elif status.last_state is not None and status.last_state.terminated is not None:
            stopped += 1
            succeeded += status.last_state.terminated.exit_code == 0
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Running" if policy == "OnFailure" else "Failed"


def _condition(kind: str, ok: bool, reason: str | None = None, message: str | None = None) -> PodCondition:
    return PodCondition(
        type=kind,
        status="True" if ok else "False",
        reason=None if ok else reason,
        message=None if ok else message,
    )


def _not_ready_message(kind: str, names: list[str]) -> str:
    return f"containers with {kind} status: [{' '.join(names)}]"


def conditions(
    pod: Pod, runtime: RuntimePod, init: list[ContainerStatus], regular: list[ContainerStatus], phase: str
) -> list[PodCondition]:
    sandbox_ready = runtime.ready_sandbox() is not None
    incomplete = [
        s.name
        for spec, s in zip(init_containers(pod), init, strict=True)
        if (not s.started if is_sidecar(spec) else _exit_code(s.state) != 0)
    ]
    terminal = phase in ("Succeeded", "Failed")
    initialized = not incomplete or phase == "Succeeded"
    sidecars_unready = [
        s.name for spec, s in zip(init_containers(pod), init, strict=True) if is_sidecar(spec) and not s.ready
    ]
    unready = [s.name for s in regular if not s.ready] + sidecars_unready
    ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
    ready_message = None if terminal else _not_ready_message("unready", unready)
    return [
        _condition("PodReadyToStartContainers", sandbox_ready),
        _condition(
            "Initialized",
            initialized,
            "ContainersNotInitialized",
            _not_ready_message("incomplete", incomplete),
        ),
        _condition("Ready", not unready and not terminal, ready_reason, ready_message),
        _condition("ContainersReady", not unready and not terminal, ready_reason, ready_message),
        _condition("PodScheduled", True),
    ]


def _with_transitions(new: list[PodCondition], old: PodStatus | None, now: float) -> list[PodCondition]:
    previous = {c.type: c for c in (old.conditions if old else None) or ()}
    out = []
    for condition in new:
        before = previous.get(condition.type)
        since = before.last_transition_time if before and before.status == condition.status else rfc3339(now)
        out.append(condition.replace(last_transition_time=since, last_probe_time=None))
    return out


def pod_status(
    pod: Pod, runtime: RuntimePod, inputs: StatusInputs, *, previous: PodStatus | None
) -> PodStatus:
    init_done_waiting = "PodInitializing" if init_containers(pod) else "ContainerCreating"
    init = [
        container_status(c, _in_order(runtime, c.name), inputs, default_waiting="PodInitializing")
        for c in init_containers(pod)
    ]
    regular = [
        container_status(c, _in_order(runtime, c.name), inputs, default_waiting=init_done_waiting)
        for c in pod_spec(pod).containers
    ]
    phase = "Failed" if inputs.terminal_reason else pod_phase(pod, init, regular)
    sandbox = runtime.ready_sandbox() or (runtime.sandboxes[0] if runtime.sandboxes else None)
    host_network = bool(pod_spec(pod).host_network)
    pod_ip = inputs.host_ip if host_network else (sandbox.ip if sandbox else "")
    extra = () if host_network or sandbox is None else sandbox.additional_ips
    start = inputs.start_time
    return PodStatus(
        phase=phase,
        conditions=_with_transitions(conditions(pod, runtime, init, regular, phase), previous, inputs.now),
        reason=inputs.terminal_reason,
        message=inputs.terminal_message,
        host_ip=inputs.host_ip,
        host_ips=[HostIP(ip=inputs.host_ip)],
        pod_ip=pod_ip or None,
        pod_ips=[PodIP(ip=ip) for ip in (pod_ip, *extra) if ip] or None,
        start_time=rfc3339(start) if start is not None else None,
        init_container_statuses=init or None,
        container_statuses=regular,
        qos_class=qos_class(pod),
    )


def _in_order(runtime: RuntimePod, name: str) -> list[RuntimeContainer]:
    return sorted(runtime.history(name), key=lambda c: (c.restart_count, c.created_at), reverse=True)
