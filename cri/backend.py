"""The protocols every CRI shim implements. The servicer in ``cri.servicer`` is their only caller.

Ids may be unique prefixes (``cri.ids.IdIndex`` resolves them). Stop/Remove calls are idempotent.
Errors are raised from ``cri.errors``; anything a backend cannot do raises ``Unimplemented``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from cri.domain import (
    AuthConfig,
    Container,
    ContainerEvent,
    ContainerFilter,
    ContainerStats,
    ContainerStatsFilter,
    ContainerStatusResult,
    ExecSyncResult,
    Image,
    ImageFilter,
    ImageFsInfo,
    ImageSpec,
    ImageStatusResult,
    LinuxContainerResources,
    MetricDescriptor,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxMetrics,
    PodSandboxStats,
    PodSandboxStatsFilter,
    PodSandboxStatusResult,
    RuntimeConfig,
    RuntimeConfigInfo,
    RuntimeVersion,
    StatusResult,
)
from cri.domain import ContainerConfig as ContainerConfig
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckpointSpec:
    container_id: str
    location: str
    timeout: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxResourcesUpdate:
    pod_sandbox_id: str
    overhead: LinuxContainerResources | None
    resources: LinuxContainerResources | None


class SandboxBackend(Protocol):
    async def run_pod_sandbox(self, config: PodSandboxConfig, *, runtime_handler: str) -> str: ...
    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None: ...
    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None: ...
    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool) -> PodSandboxStatusResult: ...
    async def list_pod_sandbox(self, filter_: PodSandboxFilter | None) -> list[PodSandbox]: ...
    async def port_forward(self, spec: PortForwardSpec) -> str: ...
    async def update_pod_sandbox_resources(self, update: SandboxResourcesUpdate) -> None: ...


class ContainerBackend(Protocol):
    async def create_container(
        self, pod_sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, *, timeout: int) -> None: ...
    async def remove_container(self, container_id: str) -> None: ...
    async def list_containers(self, filter_: ContainerFilter | None) -> list[Container]: ...
    async def container_status(self, container_id: str, *, verbose: bool) -> ContainerStatusResult: ...
    async def update_container_resources(
        self, container_id: str, linux: LinuxContainerResources | None, annotations: dict[str, str]
    ) -> None: ...
    async def reopen_container_log(self, container_id: str) -> None: ...
    async def exec_sync(self, container_id: str, cmd: tuple[str, ...], *, timeout: int) -> ExecSyncResult: ...
    async def exec(self, spec: ExecSpec) -> str: ...
    async def attach(self, spec: AttachSpec) -> str: ...
    async def checkpoint_container(self, spec: CheckpointSpec) -> None: ...


class StatsBackend(Protocol):
    async def container_stats(self, container_id: str) -> ContainerStats: ...
    async def list_container_stats(self, filter_: ContainerStatsFilter | None) -> list[ContainerStats]: ...
    async def pod_sandbox_stats(self, pod_sandbox_id: str) -> PodSandboxStats: ...
    async def list_pod_sandbox_stats(
        self, filter_: PodSandboxStatsFilter | None
    ) -> list[PodSandboxStats]: ...
    async def list_metric_descriptors(self) -> list[MetricDescriptor]: ...
    async def list_pod_sandbox_metrics(self) -> list[PodSandboxMetrics]: ...


class RuntimeInfoBackend(Protocol):
    async def version(self) -> RuntimeVersion: ...
    async def status(self, *, verbose: bool) -> StatusResult: ...
    async def runtime_config(self) -> RuntimeConfigInfo: ...
    async def update_runtime_config(self, config: RuntimeConfig) -> None: ...
    def container_events(self) -> AsyncIterator[ContainerEvent]:
        """Events after their state is committed, for as long as the caller iterates."""
        ...


class RuntimeBackend(SandboxBackend, ContainerBackend, StatsBackend, RuntimeInfoBackend, Protocol):
    """Everything RuntimeService needs from a shim."""


class ImageBackend(Protocol):
    """Everything ImageService needs from a shim."""

    async def list_images(self, filter_: ImageFilter | None) -> list[Image]: ...
    async def image_status(self, image: ImageSpec, *, verbose: bool) -> ImageStatusResult: ...
    async def pull_image(
        self, image: ImageSpec, auth: AuthConfig | None, sandbox_config: PodSandboxConfig | None
    ) -> str: ...
    async def remove_image(self, image: ImageSpec) -> None: ...
    async def image_fs_info(self) -> ImageFsInfo: ...
