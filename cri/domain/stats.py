"""CRI domain: stats types (frozen mirrors of runtime.v1 messages; Windows-only parts left out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri.domain.container import ContainerMetadata
from cri.domain.sandbox import PodSandboxMetadata


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxStatsFilter:
    id: str = ""
    label_selector: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxAttributes:
    id: str = ""
    metadata: PodSandboxMetadata | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class PsiData:
    Total: int = 0
    Avg10: float = 0.0
    Avg60: float = 0.0
    Avg300: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class PsiStats:
    Full: PsiData | None = None
    Some: PsiData | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CpuUsage:
    timestamp: int = 0
    usage_core_nano_seconds: int | None = None
    usage_nano_cores: int | None = None
    psi: PsiStats | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MemoryUsage:
    timestamp: int = 0
    working_set_bytes: int | None = None
    available_bytes: int | None = None
    usage_bytes: int | None = None
    rss_bytes: int | None = None
    page_faults: int | None = None
    major_page_faults: int | None = None
    psi: PsiStats | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkInterfaceUsage:
    name: str = ""
    rx_bytes: int | None = None
    rx_errors: int | None = None
    tx_bytes: int | None = None
    tx_errors: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkUsage:
    timestamp: int = 0
    default_interface: NetworkInterfaceUsage | None = None
    interfaces: tuple[NetworkInterfaceUsage, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessUsage:
    timestamp: int = 0
    process_count: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerAttributes:
    id: str = ""
    metadata: ContainerMetadata | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class FilesystemIdentifier:
    mountpoint: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class FilesystemUsage:
    timestamp: int = 0
    fs_id: FilesystemIdentifier | None = None
    used_bytes: int | None = None
    inodes_used: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SwapUsage:
    timestamp: int = 0
    swap_available_bytes: int | None = None
    swap_usage_bytes: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class IoUsage:
    timestamp: int = 0
    psi: PsiStats | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerStats:
    attributes: ContainerAttributes | None = None
    cpu: CpuUsage | None = None
    memory: MemoryUsage | None = None
    writable_layer: FilesystemUsage | None = None
    swap: SwapUsage | None = None
    io: IoUsage | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LinuxPodSandboxStats:
    cpu: CpuUsage | None = None
    memory: MemoryUsage | None = None
    network: NetworkUsage | None = None
    process: ProcessUsage | None = None
    containers: tuple[ContainerStats, ...] = ()
    io: IoUsage | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSandboxStats:
    attributes: PodSandboxAttributes | None = None
    linux: LinuxPodSandboxStats | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageFsInfo:
    image_filesystems: tuple[FilesystemUsage, ...] = ()
    container_filesystems: tuple[FilesystemUsage, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerStatsFilter:
    id: str = ""
    pod_sandbox_id: str = ""
    label_selector: Mapping[str, str] = field(default_factory=dict)
