"""Resource usage of containers and pods from the host: cgroups, the pod's netns, the writable layer."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d
from shims.node import cgroups
from shims.node.netstats import read_netns_usage, read_network_usage


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerPlace:
    """Where a container's usage is read: its cgroup (when running) and its writable layer."""

    attributes: d.ContainerAttributes
    cgroups_path: str
    upper_dir: Path
    running: bool
    pid: int = 0


def container_stats(place: ContainerPlace) -> d.ContainerStats:
    """Blocking: a running container's usage; only the writable layer of a created or exited one
    (as containerd)."""
    sample = cgroups.sample(place.cgroups_path) if place.running else None
    used, inodes = disk_usage(place.upper_dir)
    return d.ContainerStats(
        attributes=place.attributes,
        cpu=sample.cpu if sample else None,
        memory=sample.memory if sample else None,
        writable_layer=d.FilesystemUsage(
            timestamp=sample.cpu.timestamp if sample else time.time_ns(),
            fs_id=d.FilesystemIdentifier(mountpoint=str(place.upper_dir)),
            used_bytes=used,
            inodes_used=inodes,
        ),
    )


def sandbox_stats(
    attributes: d.PodSandboxAttributes, *, cgroup_parent: str, netns: str, running: Sequence[ContainerPlace]
) -> d.PodSandboxStats:
    """Blocking: the pod's cgroup, its network (its netns, else a running container's) and containers."""
    network = (
        read_netns_usage(netns)
        if netns
        else next((u for c in running if (u := read_network_usage(c.pid)) is not None), None)
    )
    sample = cgroups.sample(cgroup_parent)
    return d.PodSandboxStats(
        attributes=attributes,
        linux=d.LinuxPodSandboxStats(
            cpu=sample.cpu,
            memory=sample.memory,
            containers=tuple(container_stats(c) for c in running),
            network=network,
            process=d.ProcessUsage(timestamp=sample.cpu.timestamp, process_count=sample.process_count),
        ),
    )


def disk_usage(path: os.PathLike[str]) -> tuple[int, int]:
    """Blocking: bytes allocated and inodes used below ``path``."""
    used = inodes = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames + dirnames:
            inodes += 1
            try:
                used += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                continue
    return used, inodes
