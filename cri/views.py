"""The CRI views of a shim's own records: one derivation of states, List* items and sandbox status.

Shims that keep their own state describe their records with these protocols; the CRI semantics
of deriving a state from timestamps live here once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from cri import domain as d


class SandboxFacts(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def config(self) -> d.PodSandboxConfig: ...
    @property
    def runtime_handler(self) -> str: ...
    @property
    def created_at(self) -> int: ...
    @property
    def ready(self) -> bool: ...
    @property
    def ips(self) -> tuple[str, ...]: ...


class ContainerFacts(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def sandbox_id(self) -> str: ...
    @property
    def config(self) -> d.ContainerConfig: ...
    @property
    def image_ref(self) -> str: ...
    @property
    def image_id(self) -> str: ...
    @property
    def created_at(self) -> int: ...
    @property
    def started_at(self) -> int: ...
    @property
    def finished_at(self) -> int: ...


def sandbox_state(sandbox: SandboxFacts) -> d.PodSandboxState:
    return d.PodSandboxState.SANDBOX_READY if sandbox.ready else d.PodSandboxState.SANDBOX_NOTREADY


def namespace_options(config: d.PodSandboxConfig) -> d.NamespaceOption:
    linux = config.linux
    if linux and linux.security_context and linux.security_context.namespace_options:
        return linux.security_context.namespace_options
    return d.NamespaceOption()


def sandbox_view(sandbox: SandboxFacts) -> d.PodSandbox:
    return d.PodSandbox(
        id=sandbox.id,
        metadata=sandbox.config.metadata,
        state=sandbox_state(sandbox),
        created_at=sandbox.created_at,
        labels=sandbox.config.labels,
        annotations=sandbox.config.annotations,
        runtime_handler=sandbox.runtime_handler,
    )


def sandbox_status(sandbox: SandboxFacts) -> d.PodSandboxStatus:
    ips = sandbox.ips
    network = d.PodSandboxNetworkStatus(
        ip=ips[0] if ips else "", additional_ips=tuple(d.PodIP(ip=ip) for ip in ips[1:])
    )
    return d.PodSandboxStatus(
        id=sandbox.id,
        metadata=sandbox.config.metadata,
        state=sandbox_state(sandbox),
        created_at=sandbox.created_at,
        network=network,
        linux=d.LinuxPodSandboxStatus(namespaces=d.Namespace(options=namespace_options(sandbox.config))),
        labels=sandbox.config.labels,
        annotations=sandbox.config.annotations,
        runtime_handler=sandbox.runtime_handler,
    )


def container_state(container: ContainerFacts) -> d.ContainerState:
    """CRI-NOTES: finished_at → EXITED, started_at → RUNNING, otherwise CREATED."""
    if container.finished_at:
        return d.ContainerState.CONTAINER_EXITED
    if container.started_at:
        return d.ContainerState.CONTAINER_RUNNING
    return d.ContainerState.CONTAINER_CREATED


def container_view(container: ContainerFacts) -> d.Container:
    return d.Container(
        id=container.id,
        pod_sandbox_id=container.sandbox_id,
        metadata=container.config.metadata,
        image=container.config.image or d.ImageSpec(),
        image_ref=container.image_ref,
        state=container_state(container),
        created_at=container.created_at,
        labels=container.config.labels,
        annotations=container.config.annotations,
        image_id=container.image_id,
    )


class ContainerStatusFacts(ContainerFacts, Protocol):
    @property
    def exit_code(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def log_path(self) -> str: ...
    @property
    def mounts(self) -> tuple[d.Mount, ...]: ...
    @property
    def resources(self) -> d.LinuxContainerResources | None: ...
    @property
    def user(self) -> d.LinuxContainerUser | None: ...


def container_status(container: ContainerStatusFacts) -> d.ContainerStatus:
    config = container.config
    return d.ContainerStatus(
        id=container.id,
        metadata=config.metadata,
        state=container_state(container),
        created_at=container.created_at,
        started_at=container.started_at,
        finished_at=container.finished_at,
        exit_code=container.exit_code,
        image=config.image or d.ImageSpec(),
        image_ref=container.image_ref,
        reason=container.reason,
        message=container.message,
        labels=config.labels,
        annotations=config.annotations,
        mounts=container.mounts,
        log_path=container.log_path,
        resources=d.ContainerResources(linux=container.resources) if container.resources else None,
        image_id=container.image_id,
        user=d.ContainerUser(linux=container.user) if container.user else None,
        stop_signal=config.stop_signal,
    )


def exit_reason(exit_code: int, *, oom: bool = False) -> str:
    if oom:
        return "OOMKilled"
    return "Completed" if exit_code == 0 else "Error"


class _WithStatus(Protocol):
    @property
    def sandbox_id(self) -> str: ...
    def status(self) -> d.ContainerStatus: ...


class _SandboxWithStatus(Protocol):
    def status(self) -> d.PodSandboxStatus: ...


def container_event(
    object_id: str,
    kind: d.ContainerEventType,
    *,
    sandbox_id: str,
    sandbox: _SandboxWithStatus | None,
    containers: Iterable[_WithStatus],
) -> d.ContainerEvent:
    """A GetContainerEvents item: the pod's status and its containers' statuses as committed now."""
    return d.ContainerEvent(
        container_id=object_id,
        container_event_type=kind,
        created_at=time.time_ns(),
        pod_sandbox_status=sandbox.status() if sandbox else None,
        containers_statuses=tuple(c.status() for c in containers if c.sandbox_id == sandbox_id),
    )


class SandboxRecordViews:
    """The CRI views a sandbox record gives of itself (mixed into a shim's frozen record dataclass)."""

    __slots__ = ()

    @property
    def metadata(self: SandboxFacts) -> d.PodSandboxMetadata:
        assert self.config.metadata is not None  # the servicer guarantees it
        return self.config.metadata

    @property
    def state(self: SandboxFacts) -> d.PodSandboxState:
        return sandbox_state(self)

    def view(self: SandboxFacts) -> d.PodSandbox:
        return sandbox_view(self)

    def status(self: SandboxFacts) -> d.PodSandboxStatus:
        return sandbox_status(self)


class ContainerRecordViews:
    """The CRI views a container record gives of itself."""

    __slots__ = ()

    @property
    def metadata(self: ContainerFacts) -> d.ContainerMetadata:
        assert self.config.metadata is not None  # the servicer guarantees it
        return self.config.metadata

    @property
    def state(self: ContainerFacts) -> d.ContainerState:
        return container_state(self)

    def view(self: ContainerFacts) -> d.Container:
        return container_view(self)

    def status(self: ContainerStatusFacts) -> d.ContainerStatus:
        return container_status(self)
