"""The runc shim's state: one record per sandbox and per container, saved before each action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cri import domain as d
from cri import views
from cri.records import ContainerRecordBase, SandboxRecordBase
from shims.node.infra import InfraProcess


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord(SandboxRecordBase):
    cgroup_parent: str
    netns: str = ""
    ipc_ns: str = ""
    uts_ns: str = ""
    cni_result: Mapping[str, Any] = field(default_factory=dict)
    network_attached: bool = False
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
    def listed(self) -> bool:
        return not self.setting_up

    @property
    def namespace_options(self) -> d.NamespaceOption:
        return views.namespace_options(self.config)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord(ContainerRecordBase):
    image_id: str
    cgroups_path: str
    pid: int = 0
    conmon_pid: int = 0
    mounts: tuple[d.Mount, ...] = ()
    prepared: bool = False
    """Rootfs and bundle are made: conmon + ``runc create`` may run (again, after a restart)."""

    @property
    def creation_pending(self) -> bool:
        """CREATED for the CRI, but conmon + ``runc create`` have not finished yet."""
        return self.prepared and not self.conmon_pid and not self.finished_at

    def image_spec(self) -> d.ImageSpec:
        return self.config.image or d.ImageSpec()
