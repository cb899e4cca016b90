"""CRI domain: runtime types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri.domain.container import ContainerStatus
from cri.domain.enums import CgroupDriver, ContainerEventType
from cri.domain.sandbox import PodSandboxStatus


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeVersion:
    version: str = ""
    runtime_name: str = ""
    runtime_version: str = ""
    runtime_api_version: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkConfig:
    pod_cidr: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeConfig:
    network_config: NetworkConfig | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeCondition:
    type: str = ""
    status: bool = False
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeStatus:
    conditions: tuple[RuntimeCondition, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeHandlerFeatures:
    recursive_read_only_mounts: bool = False
    user_namespaces: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeHandler:
    name: str = ""
    features: RuntimeHandlerFeatures | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeFeatures:
    supplemental_groups_policy: bool = False
    user_namespaces_host_network: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusResult:
    status: RuntimeStatus | None = None
    info: Mapping[str, str] = field(default_factory=dict)
    runtime_handlers: tuple[RuntimeHandler, ...] = ()
    features: RuntimeFeatures | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerEvent:
    container_id: str = ""
    container_event_type: ContainerEventType = ContainerEventType.CONTAINER_CREATED_EVENT
    created_at: int = 0
    pod_sandbox_status: PodSandboxStatus | None = None
    containers_statuses: tuple[ContainerStatus, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxRuntimeConfiguration:
    cgroup_driver: CgroupDriver = CgroupDriver.SYSTEMD


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeConfigInfo:
    linux: LinuxRuntimeConfiguration | None = None
