"""The fake's state: one record per sandbox and container; their CRI views come from ``cri.views``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from cri import domain as d
from cri import views


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord:
    id: str
    config: d.PodSandboxConfig
    runtime_handler: str
    created_at: int
    ips: tuple[str, ...]
    ready: bool = True
    listed: bool = True

    @property
    def metadata(self) -> d.PodSandboxMetadata:
        assert self.config.metadata is not None  # the servicer guarantees it
        return self.config.metadata

    def view(self) -> d.PodSandbox:
        return views.sandbox_view(self)

    def status(self) -> d.PodSandboxStatus:
        return views.sandbox_status(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord:
    id: str
    sandbox_id: str
    config: d.ContainerConfig
    log_path: str
    image_ref: str
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    resources: d.LinuxContainerResources | None = None
    user: d.LinuxContainerUser | None = None

    @property
    def image_id(self) -> str:
        return self.image_ref

    @property
    def mounts(self) -> tuple[d.Mount, ...]:
        return self.config.mounts

    @property
    def state(self) -> d.ContainerState:
        return views.container_state(self)

    def view(self) -> d.Container:
        return views.container_view(self)

    def status(self) -> d.ContainerStatus:
        return views.container_status(self)

    def exited(self, *, at: int, exit_code: int, reason: str) -> ContainerRecord:
        return dataclasses.replace(self, finished_at=at, exit_code=exit_code, reason=reason)


def verbose_info(record: SandboxRecord | ContainerRecord) -> dict[str, str]:
    """crictl parses every ``info`` value as JSON."""
    return {"info": json.dumps({"id": record.id, "runtime": "fake", "createdAt": record.created_at})}
