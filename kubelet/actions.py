"""The pure "compute pod actions" step: desired pod + runtime view + probe verdicts -> what to do.

Mirrors kuberuntime's computePodActions: a pod without a ready sandbox gets a new one (and the
old one is killed); init containers run one at a time, in order, sidecars (init containers with
``restartPolicy: Always``) keep running; regular containers start once init is done and restart
as the restart policy and the CrashLoopBackOff say; a container whose spec changed, or whose
liveness or startup probe failed, is killed and started again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from api.core.v1.pods import all_containers, init_containers, pod_name, pod_namespace, pod_spec, pod_uid
from api.model.core_v1 import Container, Pod
from kubelet.backoff import Backoff
from kubelet.labels import container_hash
from kubelet.runtime_view import RuntimeContainer, RuntimePod

CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"


@dataclass(frozen=True, kw_only=True)
class ProbeVerdicts:
    """Container ids whose liveness or startup probe has failed, or whose startup probe still runs."""

    liveness_failed: frozenset[str] = frozenset()
    startup_failed: frozenset[str] = frozenset()
    startup_pending: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Waiting:
    reason: str
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class KillContainer:
    container_id: str
    name: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    attempt: int = 0
    init_containers_to_start: tuple[str, ...] = ()
    containers_to_start: tuple[str, ...] = ()
    containers_to_kill: tuple[KillContainer, ...] = ()
    waiting: Mapping[str, Waiting] = field(default_factory=dict)
    init_failed: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return not (
            self.kill_pod
            or self.create_sandbox
            or self.init_containers_to_start
            or self.containers_to_start
            or self.containers_to_kill
        )


def backoff_key(pod: Pod, container_name: str) -> str:
    return f"{pod_uid(pod)}/{container_name}"


def is_sidecar(container: Container) -> bool:
    return container.restart_policy == "Always"


def should_restart(pod: Pod, exited: RuntimeContainer) -> bool:
    policy = pod_spec(pod).restart_policy
    return policy == "Always" or (policy == "OnFailure" and exited.exit_code != 0)


@dataclass
class _Plan:
    pod: Pod
    runtime: RuntimePod
    sandbox_id: str
    probes: ProbeVerdicts
    backoff: Backoff
    now: float
    start_init: list[str] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    kill: list[KillContainer] = field(default_factory=list)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    init_failed: bool = False

    def current(self, name: str) -> RuntimeContainer | None:
        return next(
            (c for c in self.runtime.containers if c.name == name and c.sandbox_id == self.sandbox_id), None
        )

    def start_unless_backing_off(
        self, container: Container, exited: RuntimeContainer, into: list[str]
    ) -> None:
        key = backoff_key(self.pod, container.name)
        finished = exited.finished_at / 1e9
        if self.backoff.in_backoff_since(key, finished, now=self.now):
            delay = int(self.backoff.delay(key))
            pod_ref = f"{pod_name(self.pod)}_{pod_namespace(self.pod)}({pod_uid(self.pod)})"
            message = f"back-off {delay}s restarting failed container={container.name} pod={pod_ref}"
            self.waiting[container.name] = Waiting(reason=CRASH_LOOP_BACK_OFF, message=message)
        else:
            into.append(container.name)

    def actions(self) -> PodActions:
        return PodActions(
            sandbox_id=self.sandbox_id,
            init_containers_to_start=tuple(self.start_init),
            containers_to_start=tuple(self.start),
            containers_to_kill=tuple(self.kill),
            waiting=self.waiting,
            kill_pod=self.init_failed,
            init_failed=self.init_failed,
        )


def compute_pod_actions(
    pod: Pod, runtime: RuntimePod, *, probes: ProbeVerdicts, backoff: Backoff, now: float
) -> PodActions:
    sandbox = runtime.ready_sandbox()
    if sandbox is None or _has_extra_ready_sandboxes(runtime, sandbox.id):
        return _new_sandbox_actions(pod, runtime)
    plan = _Plan(pod=pod, runtime=runtime, sandbox_id=sandbox.id, probes=probes, backoff=backoff, now=now)
    _kill_unknown(plan)
    if _init_done(plan):
        for container in pod_spec(pod).containers:
            _regular(plan, container)
    return plan.actions()


def _has_extra_ready_sandboxes(runtime: RuntimePod, current: str) -> bool:
    return any(s.ready and s.id != current for s in runtime.sandboxes)


def _new_sandbox_actions(pod: Pod, runtime: RuntimePod) -> PodActions:
    attempt = runtime.sandboxes[0].attempt + 1 if runtime.sandboxes else 0
    kill_old = bool(runtime.sandboxes) or bool(runtime.running_containers())
    if pod_spec(pod).restart_policy == "Never" and runtime.sandboxes and runtime.containers:
        return PodActions(kill_pod=kill_old)
    if init_containers(pod):
        return PodActions(
            kill_pod=kill_old,
            create_sandbox=True,
            attempt=attempt,
            init_containers_to_start=(init_containers(pod)[0].name,),
        )
    to_start = [
        c.name
        for c in pod_spec(pod).containers
        if not (pod_spec(pod).restart_policy == "OnFailure" and _succeeded(runtime.latest(c.name)))
    ]
    return PodActions(
        kill_pod=kill_old, create_sandbox=True, attempt=attempt, containers_to_start=tuple(to_start)
    )


def _succeeded(container: RuntimeContainer | None) -> bool:
    return container is not None and container.exited and container.exit_code == 0


def _kill_unknown(plan: _Plan) -> None:
    known = {c.name for c in all_containers(plan.pod)}
    for container in plan.runtime.running_containers():
        if container.name not in known or container.sandbox_id != plan.sandbox_id:
            plan.kill.append(
                KillContainer(container_id=container.id, name=container.name, reason="not in the pod spec")
            )


def _init_done(plan: _Plan) -> bool:
    """Walks init containers in order; returns True once every one has succeeded or (sidecar) started."""
    for container in init_containers(plan.pod):
        current = plan.current(container.name)
        if is_sidecar(container):
            if not _sidecar_ready(plan, container, current):
                return False
            continue
        if current is None:
            plan.start_init.append(container.name)
            return False
        if not current.exited:
            return False
        if current.exit_code == 0:
            continue
        if pod_spec(plan.pod).restart_policy == "Never":
            plan.init_failed = True
        else:
            plan.start_unless_backing_off(container, current, plan.start_init)
        return False
    return True


def _sidecar_ready(plan: _Plan, container: Container, current: RuntimeContainer | None) -> bool:
    if current is None:
        plan.start_init.append(container.name)
        return False
    if current.exited:
        plan.start_unless_backing_off(container, current, plan.start_init)
        return False
    if current.running and _must_replace(plan, container, current):
        plan.start_init.append(container.name)
        return False
    killed = any(k.container_id == current.id for k in plan.kill)
    return current.running and current.id not in plan.probes.startup_pending and not killed


def _must_replace(plan: _Plan, container: Container, running: RuntimeContainer) -> bool:
    """Kills a running container whose spec changed (True: start the new spec right away) or whose
    liveness/startup probe failed (False: it restarts from its exit, under CrashLoopBackOff)."""
    if running.spec_hash and running.spec_hash != container_hash(container):
        reason = "Container spec hash changed, will be restarted"
        replace_now = True
    elif running.id in plan.probes.liveness_failed:
        reason, replace_now = "Container failed liveness probe, will be restarted", False
    elif running.id in plan.probes.startup_failed:
        reason, replace_now = "Container failed startup probe, will be restarted", False
    else:
        return False
    plan.kill.append(KillContainer(container_id=running.id, name=container.name, reason=reason))
    return replace_now


def _regular(plan: _Plan, container: Container) -> None:
    current = plan.current(container.name)
    if current is None:
        plan.start.append(container.name)
        return
    if current.running:
        if _must_replace(plan, container, current) and pod_spec(plan.pod).restart_policy != "Never":
            plan.start.append(container.name)
        return
    if current.exited and should_restart(plan.pod, current):
        plan.start_unless_backing_off(container, current, plan.start)
        return
    if not current.running and not current.exited:
        plan.kill.append(
            KillContainer(container_id=current.id, name=container.name, reason="created, never started")
        )
        plan.start.append(container.name)
