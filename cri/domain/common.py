"""CRI domain: common types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri.domain.enums import MountPropagation, NamespaceMode, SecurityProfileProfileType
from cri.domain.image import ImageSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class IDMapping:
    host_id: int = 0
    container_id: int = 0
    length: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Mount:
    container_path: str = ""
    host_path: str = ""
    readonly: bool = False
    selinux_relabel: bool = False
    propagation: MountPropagation = MountPropagation.PROPAGATION_PRIVATE
    uidMappings: tuple[IDMapping, ...] = ()
    gidMappings: tuple[IDMapping, ...] = ()
    recursive_read_only: bool = False
    image: ImageSpec | None = None
    image_sub_path: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class UserNamespace:
    mode: NamespaceMode = NamespaceMode.POD
    uids: tuple[IDMapping, ...] = ()
    gids: tuple[IDMapping, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class NamespaceOption:
    network: NamespaceMode = NamespaceMode.POD
    pid: NamespaceMode = NamespaceMode.POD
    ipc: NamespaceMode = NamespaceMode.POD
    target_id: str = ""
    userns_options: UserNamespace | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SecurityProfile:
    profile_type: SecurityProfileProfileType = SecurityProfileProfileType.RuntimeDefault
    localhost_ref: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyValue:
    key: str = ""
    value: bytes = b""


@dataclass(frozen=True, kw_only=True, slots=True)
class HugepageLimit:
    page_size: str = ""
    limit: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxContainerResources:
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_shares: int = 0
    memory_limit_in_bytes: int = 0
    oom_score_adj: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    hugepage_limits: tuple[HugepageLimit, ...] = ()
    unified: Mapping[str, str] = field(default_factory=dict)
    memory_swap_limit_in_bytes: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class SELinuxOption:
    user: str = ""
    role: str = ""
    type: str = ""
    level: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Capability:
    add_capabilities: tuple[str, ...] = ()
    drop_capabilities: tuple[str, ...] = ()
    add_ambient_capabilities: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Device:
    container_path: str = ""
    host_path: str = ""
    permissions: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class CDIDevice:
    name: str = ""
