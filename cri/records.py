"""The fields every shim's sandbox and container records share, with their CRI views."""

from __future__ import annotations

from dataclasses import dataclass

from cri import domain as d
from cri.views import ContainerRecordViews, SandboxRecordViews


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecordBase(SandboxRecordViews):
    id: str
    config: d.PodSandboxConfig
    runtime_handler: str
    created_at: int
    ips: tuple[str, ...] = ()
    ready: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecordBase(ContainerRecordViews):
    id: str
    sandbox_id: str
    config: d.ContainerConfig
    image_ref: str
    log_path: str
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    resources: d.LinuxContainerResources | None = None
    user: d.LinuxContainerUser | None = None
