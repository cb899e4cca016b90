"""The few Linux syscalls the node makes without a process: mount, umount2 and unshare."""

from __future__ import annotations

import ctypes
import os
from errno import EINVAL, ENOENT
from pathlib import Path

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND = 0x1, 0x2, 0x4, 0x8, 0x1000
MNT_DETACH = 0x2
CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x04000000, 0x08000000, 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source: str, target: Path, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            os.fsencode(source),
            os.fsencode(str(target)),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {fstype or source} on {target}",
    )


def detach(target: Path) -> None:
    """Lazily unmount ``target``; nothing mounted there (EINVAL) or no such path (ENOENT) is fine."""
    if _libc.umount2(os.fsencode(str(target)), MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        if errno not in (EINVAL, ENOENT):
            raise OSError(errno, f"umount {target}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """New namespaces for the calling thread (net, ipc and uts are per thread)."""
    _check(_libc.unshare(flags), "unshare")
