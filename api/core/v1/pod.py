"""core/v1 Pod, PodSpec, PodStatus and PodList."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.core.v1.container import (
    AppArmorProfile,
    Container,
    SeccompProfile,
    SELinuxOptions,
)
from api.core.v1.volume import Volume
from api.meta.codec import Quantity
from api.meta.types import ListMeta, ObjectMeta


@dataclass(frozen=True, kw_only=True)
class Sysctl:
    name: str = ""
    value: str = ""


@dataclass(frozen=True, kw_only=True)
class PodSecurityContext:
    se_linux_options: SELinuxOptions | None = None
    windows_options: Any = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    supplemental_groups: tuple[int, ...] = ()
    supplemental_groups_policy: str | None = None
    fs_group: int | None = None
    sysctls: tuple[Sysctl, ...] = ()
    fs_group_change_policy: str | None = None
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None
    se_linux_change_policy: str | None = None


@dataclass(frozen=True, kw_only=True)
class PodDNSConfigOption:
    name: str | None = None
    value: str | None = None


@dataclass(frozen=True, kw_only=True)
class PodDNSConfig:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[PodDNSConfigOption, ...] = ()


@dataclass(frozen=True, kw_only=True)
class HostAlias:
    ip: str = ""
    hostnames: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LocalObjectReference:
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class PodReadinessGate:
    condition_type: str = ""


@dataclass(frozen=True, kw_only=True)
class PodOS:
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class Toleration:
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class PodSpec:
    volumes: tuple[Volume, ...] = ()
    init_containers: tuple[Container, ...] = ()
    containers: tuple[Container, ...] = ()
    ephemeral_containers: tuple[Any, ...] = ()
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    node_name: str | None = None
    host_network: bool | None = None
    host_pid: bool | None = None
    host_ipc: bool | None = None
    share_process_namespace: bool | None = None
    security_context: PodSecurityContext | None = None
    image_pull_secrets: tuple[LocalObjectReference, ...] = ()
    hostname: str | None = None
    subdomain: str | None = None
    affinity: Any = None
    scheduler_name: str | None = None
    tolerations: tuple[Toleration, ...] = ()
    host_aliases: tuple[HostAlias, ...] = ()
    priority_class_name: str | None = None
    priority: int | None = None
    dns_config: PodDNSConfig | None = None
    readiness_gates: tuple[PodReadinessGate, ...] = ()
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    preemption_policy: str | None = None
    overhead: Mapping[str, Quantity] = field(default_factory=dict)
    topology_spread_constraints: tuple[Any, ...] = ()
    set_hostname_as_fqdn: bool | None = None
    os: PodOS | None = None
    host_users: bool | None = None
    scheduling_gates: tuple[Any, ...] = ()
    resource_claims: tuple[Any, ...] = ()
    resources: Any = None
    hostname_override: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerStateWaiting:
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerStateRunning:
    started_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerStateTerminated:
    exit_code: int = 0
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerState:
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerStatus:
    name: str = ""
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool = False
    restart_count: int = 0
    image: str = ""
    image_id: str = ""
    container_id: str | None = None
    started: bool | None = None
    allocated_resources: Mapping[str, Quantity] = field(default_factory=dict)
    resources: Any = None
    volume_mounts: tuple[Any, ...] = ()
    user: Any = None
    allocated_resources_status: tuple[Any, ...] = ()
    stop_signal: str | None = None


@dataclass(frozen=True, kw_only=True)
class PodCondition:
    type: str = ""
    observed_generation: int | None = None
    status: str = ""
    last_probe_time: str | None = None
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class PodIP:
    ip: str = ""


@dataclass(frozen=True, kw_only=True)
class PodStatus:
    observed_generation: int | None = None
    phase: str | None = None
    conditions: tuple[PodCondition, ...] = ()
    message: str | None = None
    reason: str | None = None
    nominated_node_name: str | None = None
    host_ip: str | None = None
    host_ips: tuple[PodIP, ...] = ()
    pod_ip: str | None = None
    pod_ips: tuple[PodIP, ...] = ()
    start_time: str | None = None
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    qos_class: str | None = None
    ephemeral_container_statuses: tuple[ContainerStatus, ...] = ()
    resize: str | None = None
    resource_claim_statuses: tuple[Any, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Pod:
    api_version: str | None = "v1"
    kind: str | None = "Pod"
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: PodSpec = field(default_factory=PodSpec)
    status: PodStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name or ""

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ""

    @property
    def uid(self) -> str:
        return self.metadata.uid or ""


@dataclass(frozen=True, kw_only=True)
class PodList:
    api_version: str = "v1"
    kind: str = "PodList"
    metadata: ListMeta = field(default_factory=ListMeta)
    items: tuple[Pod, ...] = ()
