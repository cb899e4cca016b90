"""CRI domain: container types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri.domain.common import (
    Capability,
    CDIDevice,
    Device,
    KeyValue,
    LinuxContainerResources,
    Mount,
    NamespaceOption,
    SecurityProfile,
    SELinuxOption,
)
from cri.domain.enums import ContainerState, Signal, SupplementalGroupsPolicy
from cri.domain.image import ImageSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxContainerSecurityContext:
    capabilities: Capability | None = None
    privileged: bool = False
    namespace_options: NamespaceOption | None = None
    selinux_options: SELinuxOption | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_username: str = ""
    readonly_rootfs: bool = False
    supplemental_groups: tuple[int, ...] = ()
    supplemental_groups_policy: SupplementalGroupsPolicy = SupplementalGroupsPolicy.Merge
    no_new_privs: bool = False
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    seccomp: SecurityProfile | None = None
    apparmor: SecurityProfile | None = None
    apparmor_profile: str = ""
    seccomp_profile_path: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxContainerConfig:
    resources: LinuxContainerResources | None = None
    security_context: LinuxContainerSecurityContext | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxContainerUser:
    uid: int = 0
    gid: int = 0
    supplemental_groups: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerMetadata:
    name: str = ""
    attempt: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerConfig:
    metadata: ContainerMetadata | None = None
    image: ImageSpec | None = None
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    envs: tuple[KeyValue, ...] = ()
    mounts: tuple[Mount, ...] = ()
    devices: tuple[Device, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    log_path: str = ""
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    linux: LinuxContainerConfig | None = None
    CDI_devices: tuple[CDIDevice, ...] = ()
    stop_signal: Signal = Signal.RUNTIME_DEFAULT


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerStateValue:
    state: ContainerState = ContainerState.CONTAINER_CREATED


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerFilter:
    id: str = ""
    state: ContainerStateValue | None = None
    pod_sandbox_id: str = ""
    label_selector: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Container:
    id: str = ""
    pod_sandbox_id: str = ""
    metadata: ContainerMetadata | None = None
    image: ImageSpec | None = None
    image_ref: str = ""
    state: ContainerState = ContainerState.CONTAINER_CREATED
    created_at: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    image_id: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerResources:
    linux: LinuxContainerResources | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerUser:
    linux: LinuxContainerUser | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerStatus:
    id: str = ""
    metadata: ContainerMetadata | None = None
    state: ContainerState = ContainerState.CONTAINER_CREATED
    created_at: int = 0
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    image: ImageSpec | None = None
    image_ref: str = ""
    reason: str = ""
    message: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    log_path: str = ""
    resources: ContainerResources | None = None
    image_id: str = ""
    user: ContainerUser | None = None
    stop_signal: Signal = Signal.RUNTIME_DEFAULT


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerStatusResult:
    status: ContainerStatus | None = None
    info: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecSyncResult:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
