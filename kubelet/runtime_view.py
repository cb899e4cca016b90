"""What the runtime holds for each pod, read back from CRI: the kubelet's view of reality."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri import domain as d
from kubelet import labels as lbl

RUNNING = d.ContainerState.CONTAINER_RUNNING
EXITED = d.ContainerState.CONTAINER_EXITED
CREATED = d.ContainerState.CONTAINER_CREATED


@dataclass(frozen=True, kw_only=True)
class RuntimeContainer:
    id: str
    name: str
    sandbox_id: str
    state: d.ContainerState
    pod_uid: str = ""
    attempt: int = 0
    created_at: int = 0
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    image: str = ""
    image_ref: str = ""
    spec_hash: str = ""
    restart_count: int = 0
    log_path: str = ""

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def exited(self) -> bool:
        return self.state == EXITED


@dataclass(frozen=True, kw_only=True)
class RuntimeSandbox:
    id: str
    attempt: int
    ready: bool
    created_at: int
    ip: str = ""
    additional_ips: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RuntimePod:
    """Sandboxes and containers of one pod UID, newest first."""

    uid: str
    name: str = ""
    namespace: str = ""
    sandboxes: tuple[RuntimeSandbox, ...] = ()
    containers: tuple[RuntimeContainer, ...] = ()

    def latest(self, name: str) -> RuntimeContainer | None:
        return next((c for c in self.containers if c.name == name), None)

    def history(self, name: str) -> list[RuntimeContainer]:
        return [c for c in self.containers if c.name == name]

    def ready_sandbox(self) -> RuntimeSandbox | None:
        return next((s for s in self.sandboxes if s.ready), None)

    def running_containers(self) -> list[RuntimeContainer]:
        return [c for c in self.containers if c.running]


@dataclass(frozen=True, kw_only=True)
class RuntimeSnapshot:
    pods: Mapping[str, RuntimePod] = field(default_factory=dict)

    def pod(self, uid: str) -> RuntimePod:
        return self.pods.get(uid) or RuntimePod(uid=uid)


def runtime_container(status: d.ContainerStatus, sandbox_id: str) -> RuntimeContainer:
    meta = status.metadata or d.ContainerMetadata()
    return RuntimeContainer(
        id=status.id,
        name=status.labels.get(lbl.CONTAINER_NAME, meta.name),
        sandbox_id=sandbox_id,
        state=status.state,
        pod_uid=status.labels.get(lbl.POD_UID, ""),
        attempt=meta.attempt,
        created_at=status.created_at,
        started_at=status.started_at,
        finished_at=status.finished_at,
        exit_code=status.exit_code,
        reason=status.reason,
        message=status.message,
        image=status.image.image if status.image else "",
        image_ref=status.image_ref,
        spec_hash=status.annotations.get(lbl.CONTAINER_HASH, ""),
        restart_count=_int(status.annotations.get(lbl.RESTART_COUNT, "0")),
        log_path=status.log_path,
    )


def runtime_sandbox(status: d.PodSandboxStatus) -> RuntimeSandbox:
    network = status.network or d.PodSandboxNetworkStatus()
    meta = status.metadata or d.PodSandboxMetadata()
    return RuntimeSandbox(
        id=status.id,
        attempt=meta.attempt,
        ready=status.state == d.PodSandboxState.SANDBOX_READY,
        created_at=status.created_at,
        ip=network.ip,
        additional_ips=tuple(ip.ip for ip in network.additional_ips),
    )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
