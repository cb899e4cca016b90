"""The runc shim's configuration: one YAML file, validated once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from shims.backends import BackendConfigError


class ConfigError(BackendConfigError):
    """The configuration file is invalid; the message names the field."""


@dataclass(frozen=True, kw_only=True)
class RuncShimConfig:
    root_dir: Path = Path("/var/lib/tinykube/runc")
    state_dir: Path = Path("/run/tinykube/runc")
    runc: Path = Path("/usr/sbin/runc")
    conmon: Path = Path("/usr/bin/conmon")
    sandbox_image: str = "registry.k8s.io/pause:3.10"
    cni_conf_dir: Path = Path("/etc/cni/net.d")
    cni_bin_dirs: tuple[Path, ...] = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
    cni_plugin_timeout: float = 30.0
    """Seconds one CNI plugin call (ADD or DEL) may take before RunPodSandbox answers DEADLINE_EXCEEDED."""
    registry_certs_dir: Path = Path("/etc/tinykube/certs.d")
    streaming_address: str = "127.0.0.1:0"
    log_level: str = "info"
    cgroup_parent: str = "/tinykube"
    pause_binary: Path = Path("/usr/bin/catatonit")
    image_root: Path = Path("/var/lib/tinykube/images")
    local_images: dict[str, Path] = field(default_factory=dict)
    """Unpacked rootfs directories by reference; when set, they replace the OCI image store."""

    @property
    def runc_root(self) -> Path:
        return self.state_dir / "runc"


PATH_FIELDS = {
    "root_dir",
    "state_dir",
    "runc",
    "conmon",
    "cni_conf_dir",
    "registry_certs_dir",
    "pause_binary",
    "image_root",
}
LOG_LEVELS = {"debug", "info", "warning", "error"}


def load_config(path: Path | None, **overrides: Any) -> RuncShimConfig:
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        raw.update(loaded)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return _validated(raw)


def _validated(raw: dict[str, Any]) -> RuncShimConfig:
    known = {f.name for f in fields(RuncShimConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in PATH_FIELDS:
            values[name] = Path(_text(name, value))
        elif name == "cni_bin_dirs":
            values[name] = tuple(Path(_text(name, v)) for v in _list(name, value))
        elif name == "cni_plugin_timeout":
            values[name] = _seconds(name, value)
        elif name == "local_images":
            values[name] = {str(k): Path(_text(name, v)) for k, v in dict(value).items()}
        else:
            values[name] = _text(name, value)
    config = RuncShimConfig(**values)
    _check(config)
    return config


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ConfigError(f"{name}: expected a non-empty string, got {value!r}")
    return str(value)


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(value)


def _list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{name}: expected a list, got {value!r}")
    return value


def _check(config: RuncShimConfig) -> None:
    for name in ("runc", "conmon", "pause_binary"):
        binary = getattr(config, name)
        if not os.access(binary, os.X_OK):
            raise ConfigError(f"{name}: {binary} is not an executable file")
    if config.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level: {config.log_level!r} is not one of {', '.join(sorted(LOG_LEVELS))}")
    if not config.cgroup_parent.startswith("/"):
        raise ConfigError(f"cgroup_parent: {config.cgroup_parent!r} must be an absolute cgroup path")
    host, _, port = config.streaming_address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"streaming_address: {config.streaming_address!r} is not HOST:PORT")
