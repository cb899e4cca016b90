"""The containerd shim's configuration: one YAML file like the runc shim's, validated once at start.

The defaults work against the containerd the services script starts: its socket, a namespace of our
own (never ``k8s.io``, where containerd's built-in CRI keeps its pods), overlayfs and runc v2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shims.backends import BackendConfigError
from shims.configfile import build, check_host_port, read_settings

NAMESPACE = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
"""containerd's identifier rule for namespaces."""
RESERVED_NAMESPACES = ("k8s.io",)
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, kw_only=True)
class ContainerdShimConfig:
    containerd_address: Path = Path("/run/containerd/containerd.sock")
    namespace: str = "tinykube"
    snapshotter: str = "overlayfs"
    snapshotter_root: Path = Path("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs")
    runtime: str = "io.containerd.runc.v2"
    sandbox_image: str = "registry.k8s.io/pause:3.10"
    state_dir: Path = Path("/run/tinykube/containerd")
    """Pinned pod namespaces, pod files and task FIFOs."""
    cni_conf_dir: Path = Path("/etc/cni/net.d")
    cni_bin_dirs: tuple[Path, ...] = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
    registry_certs_dir: Path = Path("/etc/tinykube/certs.d")
    streaming_address: str = "127.0.0.1:0"
    cgroup_parent: str = "/tinykube"
    log_level: str = "info"


PATH_FIELDS = {"containerd_address", "snapshotter_root", "state_dir", "cni_conf_dir", "registry_certs_dir"}


def load_config(path: Path | None, **overrides: Any) -> ContainerdShimConfig:
    raw = read_settings(path, overrides)
    config = ContainerdShimConfig(
        **build(ContainerdShimConfig, raw, paths=PATH_FIELDS, path_lists={"cni_bin_dirs"})
    )
    _check(config)
    return config


def _check(config: ContainerdShimConfig) -> None:
    if not NAMESPACE.fullmatch(config.namespace) or len(config.namespace) > 76:
        raise BackendConfigError(f"namespace: {config.namespace!r} is not a valid containerd namespace")
    if config.namespace in RESERVED_NAMESPACES:
        raise BackendConfigError(
            f"namespace: {config.namespace!r} belongs to containerd's built-in CRI; choose another"
        )
    if config.log_level not in LOG_LEVELS:
        raise BackendConfigError(f"log_level: {config.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    if not config.cgroup_parent.startswith("/"):
        raise BackendConfigError(f"cgroup_parent: {config.cgroup_parent!r} must be an absolute cgroup path")
    check_host_port("streaming_address", config.streaming_address)
