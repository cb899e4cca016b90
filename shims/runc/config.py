"""The runc shim's configuration: one YAML file, validated once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shims.backends import BackendConfigError
from shims.configfile import build, check_host_port, read_settings, text

ConfigError = BackendConfigError
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
    raw = read_settings(path, overrides)
    local_images = raw.pop("local_images", None)
    values = build(
        RuncShimConfig, raw, paths=PATH_FIELDS, path_lists={"cni_bin_dirs"}, seconds={"cni_plugin_timeout"}
    )
    if local_images is not None:
        values["local_images"] = {
            str(k): Path(text("local_images", v)) for k, v in dict(local_images).items()
        }
    config = RuncShimConfig(**values)
    _check(config)
    return config


def _check(config: RuncShimConfig) -> None:
    for name in ("runc", "conmon", "pause_binary"):
        binary = getattr(config, name)
        if not os.access(binary, os.X_OK):
            raise ConfigError(f"{name}: {binary} is not an executable file")
    if config.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level: {config.log_level!r} is not one of {', '.join(sorted(LOG_LEVELS))}")
    if not config.cgroup_parent.startswith("/"):
        raise ConfigError(f"cgroup_parent: {config.cgroup_parent!r} must be an absolute cgroup path")
    check_host_port("streaming_address", config.streaming_address)
