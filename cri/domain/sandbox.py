"""CRI domain: sandbox types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri.domain.common import LinuxContainerResources, NamespaceOption, SecurityProfile, SELinuxOption
from cri.domain.container import ContainerStatus
from cri.domain.enums import PodSandboxState, Protocol, SupplementalGroupsPolicy


@dataclass(frozen=True, kw_only=True, slots=True)
class DNSConfig:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class PortMapping:
    protocol: Protocol = Protocol.TCP
    container_port: int = 0
    host_port: int = 0
    host_ip: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxSandboxSecurityContext:
    namespace_options: NamespaceOption | None = None
    selinux_options: SELinuxOption | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    supplemental_groups: tuple[int, ...] = ()
    supplemental_groups_policy: SupplementalGroupsPolicy = SupplementalGroupsPolicy.Merge
    privileged: bool = False
    seccomp: SecurityProfile | None = None
    apparmor: SecurityProfile | None = None
    seccomp_profile_path: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxPodSandboxConfig:
    cgroup_parent: str = ""
    security_context: LinuxSandboxSecurityContext | None = None
    sysctls: Mapping[str, str] = field(default_factory=dict)
    overhead: LinuxContainerResources | None = None
    resources: LinuxContainerResources | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxMetadata:
    name: str = ""
    uid: str = ""
    namespace: str = ""
    attempt: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxConfig:
    metadata: PodSandboxMetadata | None = None
    hostname: str = ""
    log_directory: str = ""
    dns_config: DNSConfig | None = None
    port_mappings: tuple[PortMapping, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    linux: LinuxPodSandboxConfig | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PodIP:
    ip: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxNetworkStatus:
    ip: str = ""
    additional_ips: tuple[PodIP, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Namespace:
    options: NamespaceOption | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxPodSandboxStatus:
    namespaces: Namespace | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxStatus:
    id: str = ""
    metadata: PodSandboxMetadata | None = None
    state: PodSandboxState = PodSandboxState.SANDBOX_READY
    created_at: int = 0
    network: PodSandboxNetworkStatus | None = None
    linux: LinuxPodSandboxStatus | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    runtime_handler: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxStatusResult:
    status: PodSandboxStatus | None = None
    info: Mapping[str, str] = field(default_factory=dict)
    containers_statuses: tuple[ContainerStatus, ...] = ()
    timestamp: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxStateValue:
    state: PodSandboxState = PodSandboxState.SANDBOX_READY


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxFilter:
    id: str = ""
    state: PodSandboxStateValue | None = None
    label_selector: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandbox:
    id: str = ""
    metadata: PodSandboxMetadata | None = None
    state: PodSandboxState = PodSandboxState.SANDBOX_READY
    created_at: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    runtime_handler: str = ""
