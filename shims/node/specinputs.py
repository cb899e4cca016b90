"""What the pure OCI spec builder (``shims.node.ocispec``) needs from the host for one container:
its user from the image's passwd/group, a Localhost seccomp profile, host devices, the pod's
namespaces and files, and the runtime's own limits.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import InvalidArgument
from shims.node.identity import resolve_user
from shims.node.ocispec import HOST, ImageProcess, PodFiles, PodNamespaces, SpecInputs, parse_bounding_set
from shims.node.podfiles import PodFilePaths
from shims.node.podhost import PodPins
from shims.node.seccomp import localhost_profile_path


@dataclass(frozen=True, kw_only=True, slots=True)
class RuntimeLimits:
    """The shim process's own OOM score floor and capability bounding set, read once."""

    oom_score_adj_floor: int
    bounding_capabilities: frozenset[str]

    @classmethod
    def of_this_process(cls) -> RuntimeLimits:
        return cls(
            oom_score_adj_floor=int(Path("/proc/self/oom_score_adj").read_text().strip()),
            bounding_capabilities=parse_bounding_set(Path("/proc/self/status").read_text()),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class PodContext:
    """The sandbox as its containers see it."""

    directory: Path
    pins: PodPins
    infra_pid_namespace: str | None = None
    sysctls: Mapping[str, str] = field(default_factory=dict)


def spec_inputs(
    config: d.ContainerConfig,
    *,
    image: ImageProcess,
    rootfs: Path,
    pod: PodContext,
    cgroups_path: str,
    limits: RuntimeLimits,
    target_pid: int = 0,
    image_file: Callable[[str], str] | None = None,
) -> SpecInputs:
    """Blocking: everything the pure spec builder needs from the host.

    ``target_pid``: the process whose PID namespace a TARGET-mode container joins. ``image_file``
    reads a file of the image by its path inside it ("" when absent); by default, under ``rootfs``.
    """
    security = config.linux.security_context if config.linux else None
    read = image_file or (lambda inside: _read_text(rootfs / inside))
    user = resolve_user(
        security,
        image_user=image.user,
        passwd_text=read("etc/passwd"),
        group_text=read("etc/group"),
    )
    files = PodFilePaths.under(pod.directory)
    return SpecInputs(
        config=config,
        image=image,
        user=user,
        rootfs=str(rootfs),
        hostname="",
        namespaces=pod_namespaces(pod, config, target_pid=target_pid),
        pod_files=PodFiles(
            resolv_conf=str(files.resolv_conf),
            hosts=str(files.hosts),
            hostname=str(files.hostname),
            shm=str(files.shm) if pod.pins.ipc_ns else "/dev/shm",
        ),
        cgroups_path=cgroups_path,
        oom_score_adj_floor=limits.oom_score_adj_floor,
        sysctls=pod.sysctls,
        localhost_seccomp=_localhost_seccomp(security),
        bounding_capabilities=limits.bounding_capabilities,
        host_devices={dev.host_path: host_device(dev.host_path) for dev in config.devices},
    )


def target_of(config: d.ContainerConfig) -> str:
    """The container id whose PID namespace ``config`` asks to join, or ""."""
    security = config.linux.security_context if config.linux else None
    options = security.namespace_options if security else None
    return options.target_id if options is not None and options.pid == d.NamespaceMode.TARGET else ""


def pod_namespaces(pod: PodContext, config: d.ContainerConfig, *, target_pid: int = 0) -> PodNamespaces:
    security = config.linux.security_context if config.linux else None
    options = security.namespace_options if security and security.namespace_options else d.NamespaceOption()
    pid: str | None = None
    if options.pid == d.NamespaceMode.NODE:
        pid = HOST
    elif options.pid == d.NamespaceMode.POD and pod.infra_pid_namespace is not None:
        pid = pod.infra_pid_namespace
    elif options.pid == d.NamespaceMode.TARGET:
        pid = f"/proc/{target_pid}/ns/pid"
    pins = pod.pins
    return PodNamespaces(
        network=pins.netns or HOST, ipc=pins.ipc_ns or HOST, uts=pins.uts_ns or HOST, pid=pid
    )


def host_device(host_path: str) -> dict[str, Any]:
    try:
        info = os.stat(host_path)
    except OSError as exc:
        raise InvalidArgument(f"device {host_path!r}: {exc.strerror}") from exc
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)):
        raise InvalidArgument(f"device {host_path!r} is not a character or block device")
    return {
        "type": "c" if stat.S_ISCHR(info.st_mode) else "b",
        "major": os.major(info.st_rdev),
        "minor": os.minor(info.st_rdev),
        "fileMode": stat.S_IMODE(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
    }


def _localhost_seccomp(security: d.LinuxContainerSecurityContext | None) -> dict[str, Any] | None:
    profile_path = localhost_profile_path(
        security.seccomp if security else None, security.seccomp_profile_path if security else ""
    )
    if profile_path is None:
        return None
    try:
        profile: dict[str, Any] = json.loads(Path(profile_path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"seccomp profile {profile_path!r} cannot be loaded: {exc}") from exc
    return profile


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
