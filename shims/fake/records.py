"""The fake's state: one record per sandbox and container, and the CRI views derived from them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from cri import domain as d

SANDBOX_STATES = d.PodSandboxState
STATES = d.ContainerState


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord:
    id: str
    config: d.PodSandboxConfig
    runtime_handler: str
    created_at: int
    ip: str
    ready: bool = True

    @property
    def metadata(self) -> d.PodSandboxMetadata:
        assert self.config.metadata is not None  # the servicer guarantees it
        return self.config.metadata

    @property
    def state(self) -> d.PodSandboxState:
        return SANDBOX_STATES.SANDBOX_READY if self.ready else SANDBOX_STATES.SANDBOX_NOTREADY

    def view(self) -> d.PodSandbox:
        return d.PodSandbox(
            id=self.id,
            metadata=self.metadata,
            state=self.state,
            created_at=self.created_at,
            labels=self.config.labels,
            annotations=self.config.annotations,
            runtime_handler=self.runtime_handler,
        )

    def status(self) -> d.PodSandboxStatus:
        linux = self.config.linux
        options = linux.security_context.namespace_options if linux and linux.security_context else None
        return d.PodSandboxStatus(
            id=self.id,
            metadata=self.metadata,
            state=self.state,
            created_at=self.created_at,
            network=d.PodSandboxNetworkStatus(ip=self.ip if self.ready else ""),
            linux=d.LinuxPodSandboxStatus(namespaces=d.Namespace(options=options or d.NamespaceOption())),
            labels=self.config.labels,
            annotations=self.config.annotations,
            runtime_handler=self.runtime_handler,
        )


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

    @property
    def state(self) -> d.ContainerState:
        if self.finished_at:
            return STATES.CONTAINER_EXITED
        if self.started_at:
            return STATES.CONTAINER_RUNNING
        return STATES.CONTAINER_CREATED

    def view(self) -> d.Container:
        return d.Container(
            id=self.id,
            pod_sandbox_id=self.sandbox_id,
            metadata=self.config.metadata,
            image=self.config.image,
            image_ref=self.image_ref,
            state=self.state,
            created_at=self.created_at,
            labels=self.config.labels,
            annotations=self.config.annotations,
            image_id=self.image_ref,
        )

    def status(self) -> d.ContainerStatus:
        return d.ContainerStatus(
            id=self.id,
            metadata=self.config.metadata,
            state=self.state,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            exit_code=self.exit_code,
            image=self.config.image,
            image_ref=self.image_ref,
            reason=self.reason,
            message=self.message,
            labels=self.config.labels,
            annotations=self.config.annotations,
            mounts=self.config.mounts,
            log_path=self.log_path,
            resources=d.ContainerResources(linux=self.resources) if self.resources else None,
            image_id=self.image_ref,
        )

    def exited(self, *, at: int, exit_code: int, reason: str) -> ContainerRecord:
        return dataclasses.replace(self, finished_at=at, exit_code=exit_code, reason=reason)


def exit_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


def verbose_info(record: SandboxRecord | ContainerRecord) -> dict[str, str]:
    """crictl parses every ``info`` value as JSON."""
    return {"info": json.dumps({"id": record.id, "runtime": "fake", "createdAt": record.created_at})}
