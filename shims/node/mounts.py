"""Mounts the node makes for containers: overlayfs root filesystems, image volumes and /dev/shm tmpfs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from errno import EINVAL
from pathlib import Path

from cri.errors import InvalidArgument
from shims.node.namespaces import unescape_mountinfo, unmount
from shims.node.syscalls import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, detach, mount

SHM_SIZE = "64m"


def mount_overlay(lower_dirs: Sequence[Path], *, directory: Path) -> Path:
    """Blocking: ``directory/rootfs`` = overlay of ``lower_dirs`` (top first) with upper/work beside it.

    ``volatile`` (Linux 5.10+): the writable layer dies with the container, so overlayfs skips
    syncing it, which makes the unmount at exit cheap; older kernels get a plain overlay.
    """
    rootfs, upper, work = directory / "rootfs", directory / "upper", directory / "work"
    for path in (rootfs, upper, work):
        path.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={':'.join(str(p) for p in lower_dirs)},upperdir={upper},workdir={work}"
    try:
        mount("overlay", rootfs, "overlay", 0, f"{options},volatile")
    except OSError as exc:
        if exc.errno != EINVAL:
            raise
        mount("overlay", rootfs, "overlay", 0, options)
    return rootfs


def mount_image_volume(lower_dirs: Sequence[Path], *, directory: Path) -> Path:
    """Blocking: ``directory/mnt`` = a read-only overlay of an image's layers (top first).

    An overlay without an upper layer needs two lower ones: an empty directory is the bottom one.
    """
    target, empty = directory / "mnt", directory / "empty"
    for path in (target, empty):
        path.mkdir(parents=True, exist_ok=True)
    lower = ":".join(str(p) for p in (*lower_dirs, empty))
    mount("overlay", target, "overlay", MS_RDONLY | MS_NODEV, f"lowerdir={lower}")
    return target


def overlay_lower_dirs(mountinfo: Path = Path("/proc/self/mountinfo")) -> set[Path]:
    """Blocking: every lower directory of the overlay mounts in this mount namespace."""
    lower: set[Path] = set()
    for line in mountinfo.read_bytes().splitlines():
        _, separator, tail = line.partition(b" - ")
        fields = tail.split(b" ")
        if not separator or len(fields) < 3 or fields[0] != b"overlay":
            continue
        for option in fields[2].split(b","):
            if option.startswith(b"lowerdir="):
                dirs = unescape_mountinfo(option.removeprefix(b"lowerdir=")).split(b":")
                lower.update(Path(os.fsdecode(d)) for d in dirs if d)
    return lower


def unmount_overlay(rootfs: Path) -> None:
    """Blocking: lazily unmount a root filesystem ``mount_overlay`` made; nothing mounted is fine.

    One syscall, no /proc/self/mountinfo scan: the path is a directory only we mount on.
    """
    detach(rootfs)


def mount_shm(target: Path) -> None:
    """Blocking: a fresh tmpfs for a pod's /dev/shm."""
    target.mkdir(parents=True, exist_ok=True)
    mount("shm", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=1777,size={SHM_SIZE}")


def unmount_tree(paths: Sequence[Path]) -> None:
    for path in paths:
        unmount(path)


def resolve_host_path(host_path: str) -> str:
    """Blocking: a bind mount's host path, symlinks resolved; made a directory if missing (as containerd)."""
    if not host_path:
        raise InvalidArgument("mount host_path is empty")
    resolved = os.path.realpath(host_path)
    if not os.path.lexists(resolved):
        os.makedirs(resolved, mode=0o755, exist_ok=True)
    return resolved
