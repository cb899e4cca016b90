"""KubeletConfiguration (kubelet.config.k8s.io/v1beta1) from YAML, with command-line overrides."""

from __future__ import annotations

import argparse
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from api.meta.errors import FieldError, type_invalid
from api.meta.quantity import QuantityError, parse_quantity, whole_units

API_VERSION = "kubelet.config.k8s.io/v1beta1"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """The configuration file or a flag is invalid; the message names the field."""


@dataclass(frozen=True, kw_only=True)
class KubeletConfiguration:
    api_version: str = API_VERSION
    kind: str = "KubeletConfiguration"
    static_pod_path: str = "/etc/kubernetes/manifests"
    container_runtime_endpoint: str = "unix:///run/containerd/containerd.sock"
    image_service_endpoint: str = ""
    address: str = "127.0.0.1"
    port: int = 10250
    pod_logs_dir: str = "/var/log/pods"
    container_log_max_size: str = "10Mi"
    container_log_max_files: int = 5
    sync_frequency: str = "1m"
    file_check_frequency: str = "20s"
    max_pods: int = 110
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = ""
    cgroup_driver: str = "cgroupfs"
    root_dir: str = "/var/lib/tinykube/kubelet"
    node_name: str = ""
    node_ip: str = ""
    authentication_token_file: str = ""
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    client_ca_file: str = ""
    container_logs_dir: str = "/var/log/containers"
    # Container GC, as the kubelet's --maximum-dead-containers-per-container, --maximum-dead-containers
    # and --minimum-container-ttl-duration flags (a negative count means no limit).
    maximum_dead_containers_per_container: int = 1
    maximum_dead_containers: int = -1
    minimum_container_ttl_duration: str = "0s"
    # As a node of a cluster (with --kubeconfig): resources held back from pods, extra labels, taints.
    kube_reserved: Mapping[str, str] = field(default_factory=dict)
    system_reserved: Mapping[str, str] = field(default_factory=dict)
    node_labels: Mapping[str, str] = field(default_factory=dict)
    register_with_taints: tuple[Mapping[str, str], ...] = ()
    node_status_update_frequency: str = "10s"
    node_status_report_frequency: str = "5m"
    node_lease_duration_seconds: int = 40

    @property
    def sync_frequency_s(self) -> float:
        return parse_duration(self.sync_frequency)

    @property
    def file_check_frequency_s(self) -> float:
        return parse_duration(self.file_check_frequency)

    @property
    def minimum_container_ttl_s(self) -> float:
        return parse_duration(self.minimum_container_ttl_duration)

    @property
    def node_status_update_s(self) -> float:
        return parse_duration(self.node_status_update_frequency)

    @property
    def node_status_report_s(self) -> float:
        return parse_duration(self.node_status_report_frequency)

    @property
    def container_log_max_bytes(self) -> int:
        return whole_units(self.container_log_max_size)


def parse_duration(text: str) -> float:
    """A Go duration such as ``1m30s``, ``20s`` or ``500ms``."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(f"invalid duration {text!r}: expected e.g. 20s, 1m30s, 500ms")
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def load_config(path: Path | None) -> KubeletConfiguration:
    if path is None:
        return KubeletConfiguration()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a KubeletConfiguration must be a YAML object")
    return _decode(data, str(path))


def _decode(data: dict[str, Any], origin: str) -> KubeletConfiguration:
    if data.get("kind", "KubeletConfiguration") != "KubeletConfiguration":
        raise ConfigError(f"{origin}: kind must be KubeletConfiguration, not {data.get('kind')!r}")
    if data.get("apiVersion", API_VERSION) != API_VERSION:
        raise ConfigError(f"{origin}: apiVersion must be {API_VERSION}, not {data.get('apiVersion')!r}")
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, kind in typing.get_type_hints(KubeletConfiguration).items():
        key = _json_name(name)
        value = data.get(key)
        if value is None:
            continue
        if kind == tuple[str, ...] and isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[name] = tuple(value)
        elif kind == Mapping[str, str] and _is_string_map(value):
            values[name] = dict(value)
        elif kind == tuple[Mapping[str, str], ...] and _is_taint_list(value):
            values[name] = tuple(dict(v) for v in value)
        elif isinstance(kind, type) and isinstance(value, kind) and not isinstance(value, bool):
            values[name] = value
        else:
            errors.append(type_invalid(key, value, f"must be of type {getattr(kind, '__name__', 'list')}"))
    if errors:
        raise ConfigError(f"{origin}: " + "; ".join(str(e) for e in errors))
    return validate(KubeletConfiguration(**values), origin)


def _is_string_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _is_taint_list(value: object) -> bool:
    return isinstance(value, list) and all(_is_string_map(v) and "key" in v and "effect" in v for v in value)


def _json_name(field_name: str) -> str:
    """camelCase, with Kubernetes' capitals for the one initialism (``clusterDNS``)."""
    head, *rest = field_name.split("_")
    return head + "".join("DNS" if part == "dns" else part.title() for part in rest)


def validate(config: KubeletConfiguration, origin: str) -> KubeletConfiguration:
    try:
        config.container_log_max_bytes  # noqa: B018
    except QuantityError as exc:
        raise ConfigError(f"{origin}: containerLogMaxSize {config.container_log_max_size!r}: {exc}") from exc
    for reserved in ("kube_reserved", "system_reserved"):
        for resource, quantity in getattr(config, reserved).items():
            try:
                parse_quantity(quantity)
            except QuantityError as exc:
                raise ConfigError(
                    f"{origin}: {_json_name(reserved)}[{resource}] {quantity!r}: {exc}"
                ) from exc
    durations = ("sync_frequency", "file_check_frequency", "minimum_container_ttl_duration")
    for name in (*durations, "node_status_update_frequency", "node_status_report_frequency"):
        parse_duration(getattr(config, name))
    if config.cgroup_driver not in ("cgroupfs", "systemd"):
        raise ConfigError(f"{origin}: cgroupDriver must be cgroupfs or systemd, not {config.cgroup_driver!r}")
    if not 0 < config.port < 65536:
        raise ConfigError(f"{origin}: port {config.port} must be between 1 and 65535")
    if config.container_log_max_files < 2:
        raise ConfigError(f"{origin}: containerLogMaxFiles must be at least 2")
    return config


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--kebab-case`` flag per field, as the kubelet's flags override its config file."""
    for f in fields(KubeletConfiguration):
        if f.name in ("api_version", "kind"):
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.name == "register_with_taints":
            continue
        kind = int if f.type in ("int", int) else str
        parser.add_argument(flag, dest=f"override_{f.name}", type=kind, default=None)


def _key_values(text: str) -> dict[str, str]:
    """``cpu=100m,memory=100Mi``, as the kubelet's --kube-reserved and --node-labels take them."""
    pairs = [item.partition("=") for item in text.split(",") if item]
    if any(not key or not sep for key, sep, _ in pairs):
        raise ConfigError(f"invalid key=value list {text!r}: expected e.g. cpu=100m,memory=100Mi")
    return {key: value for key, _, value in pairs}


def apply_flags(config: KubeletConfiguration, args: argparse.Namespace) -> KubeletConfiguration:
    overrides: dict[str, Any] = {}
    for f in fields(KubeletConfiguration):
        value = getattr(args, f"override_{f.name}", None)
        if value is None:
            continue
        if f.name == "cluster_dns":
            value = tuple(v for v in value.split(",") if v)
        elif f.name in ("kube_reserved", "system_reserved", "node_labels"):
            value = _key_values(value)
        overrides[f.name] = value
    return validate(replace(config, **overrides), "flags")
