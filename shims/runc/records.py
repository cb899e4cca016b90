"""The runc shim's state: one record per sandbox and per container, saved before each action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cri import domain as d
from cri import views
from shims.node.infra import InfraProcess


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord:
    id: str
    config: d.PodSandboxConfig
    runtime_handler: str
    created_at: int
    cgroup_parent: str
    netns: str = ""
    ipc_ns: str = ""
    uts_ns: str = ""
    ips: tuple[str, ...] = ()
    cni_result: Mapping[str, Any] = field(default_factory=dict)
    network_attached: bool = False
    ready: bool = True
    setting_up: bool = False
    """RunPodSandbox has not finished: after a crash the sandbox is torn down, never reported READY."""
    infra_pid: int = 0
    infra_start_time: int = 0

    @property
    def infra(self) -> InfraProcess | None:
        if not self.infra_pid:
            return None
        return InfraProcess(pid=self.infra_pid, start_time=self.infra_start_time)

    @property
    def metadata(self) -> d.PodSandboxMetadata:
        assert self.config.metadata is not None  # the servicer guarantees it
        return self.config.metadata

    @property
    def listed(self) -> bool:
        return not self.setting_up

    @property
    def namespace_options(self) -> d.NamespaceOption:
        return views.namespace_options(self.config)

    @property
    def state(self) -> d.PodSandboxState:
        return views.sandbox_state(self)

    def view(self) -> d.PodSandbox:
        return views.sandbox_view(self)

    def status(self) -> d.PodSandboxStatus:
        return views.sandbox_status(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord:
    id: str
    sandbox_id: str
    config: d.ContainerConfig
    image_ref: str
    image_id: str
    log_path: str
    cgroups_path: str
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    pid: int = 0
    conmon_pid: int = 0
    resources: d.LinuxContainerResources | None = None
    user: d.LinuxContainerUser | None = None
    mounts: tuple[d.Mount, ...] = ()
    prepared: bool = False
    """Rootfs and bundle are made: conmon + ``runc create`` may run (again, after a restart)."""

    @property
    def metadata(self) -> d.ContainerMetadata:
        assert self.config.metadata is not None
        return self.config.metadata

    @property
    def state(self) -> d.ContainerState:
        return views.container_state(self)

    @property
    def creation_pending(self) -> bool:
        """CREATED for the CRI, but conmon + ``runc create`` have not finished yet."""
        return self.prepared and not self.conmon_pid and not self.finished_at

    def image_spec(self) -> d.ImageSpec:
        return self.config.image or d.ImageSpec()

    def view(self) -> d.Container:
        return views.container_view(self)

    def status(self) -> d.ContainerStatus:
        return views.container_status(self)
