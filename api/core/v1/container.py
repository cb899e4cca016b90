"""core/v1 Container and the types it is made of (probes, lifecycle, env, ports, security)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.meta.codec import IntOrString, Quantity


@dataclass(frozen=True, kw_only=True)
class ObjectFieldSelector:
    api_version: str | None = None
    field_path: str = ""


@dataclass(frozen=True, kw_only=True)
class ResourceFieldSelector:
    container_name: str | None = None
    resource: str = ""
    divisor: Quantity | None = None


@dataclass(frozen=True, kw_only=True)
class KeySelector:
    """ConfigMapKeySelector and SecretKeySelector share this shape."""

    name: str | None = None
    key: str = ""
    optional: bool | None = None


@dataclass(frozen=True, kw_only=True)
class EnvVarSource:
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None
    file_key_ref: Any = None


@dataclass(frozen=True, kw_only=True)
class EnvVar:
    name: str = ""
    value: str | None = None
    value_from: EnvVarSource | None = None


@dataclass(frozen=True, kw_only=True)
class EnvFromSource:
    prefix: str | None = None
    config_map_ref: Any = None
    secret_ref: Any = None


@dataclass(frozen=True, kw_only=True)
class ContainerPort:
    name: str | None = None
    host_port: int | None = None
    container_port: int = 0
    protocol: str | None = None
    host_ip: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResourceRequirements:
    limits: Mapping[str, Quantity] = field(default_factory=dict)
    requests: Mapping[str, Quantity] = field(default_factory=dict)
    claims: tuple[Any, ...] = ()


@dataclass(frozen=True, kw_only=True)
class VolumeMount:
    name: str = ""
    read_only: bool | None = None
    recursive_read_only: str | None = None
    mount_path: str = ""
    sub_path: str | None = None
    mount_propagation: str | None = None
    sub_path_expr: str | None = None


@dataclass(frozen=True, kw_only=True)
class VolumeDevice:
    name: str = ""
    device_path: str = ""


@dataclass(frozen=True, kw_only=True)
class ExecAction:
    command: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class HTTPHeader:
    name: str = ""
    value: str = ""


@dataclass(frozen=True, kw_only=True)
class HTTPGetAction:
    path: str | None = None
    port: IntOrString = 0
    host: str | None = None
    scheme: str | None = None
    http_headers: tuple[HTTPHeader, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TCPSocketAction:
    port: IntOrString = 0
    host: str | None = None


@dataclass(frozen=True, kw_only=True)
class GRPCAction:
    port: int = 0
    service: str | None = None


@dataclass(frozen=True, kw_only=True)
class SleepAction:
    seconds: int = 0


@dataclass(frozen=True, kw_only=True)
class Probe:
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int | None = None
    timeout_seconds: int | None = None
    period_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class LifecycleHandler:
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None
    stop_signal: str | None = None


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SELinuxOptions:
    user: str | None = None
    role: str | None = None
    type: str | None = None
    level: str | None = None


@dataclass(frozen=True, kw_only=True)
class SeccompProfile:
    type: str = ""
    localhost_profile: str | None = None


@dataclass(frozen=True, kw_only=True)
class AppArmorProfile:
    type: str = ""
    localhost_profile: str | None = None


@dataclass(frozen=True, kw_only=True)
class SecurityContext:
    capabilities: Capabilities | None = None
    privileged: bool | None = None
    se_linux_options: SELinuxOptions | None = None
    windows_options: Any = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    proc_mount: str | None = None
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerResizePolicy:
    resource_name: str = ""
    restart_policy: str = ""


@dataclass(frozen=True, kw_only=True)
class Container:
    name: str = ""
    image: str | None = None
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str | None = None
    ports: tuple[ContainerPort, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()
    env: tuple[EnvVar, ...] = ()
    resources: ResourceRequirements | None = None
    resize_policy: tuple[ContainerResizePolicy, ...] = ()
    restart_policy: str | None = None
    restart_policy_rules: tuple[Any, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    volume_devices: tuple[VolumeDevice, ...] = ()
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    image_pull_policy: str | None = None
    security_context: SecurityContext | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None
