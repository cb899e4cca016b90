"""Pod namespaces pinned by bind mounts (no process holds them): net, ipc and uts.

``unshare --net=FILE`` creates the namespace and bind-mounts it on FILE; the namespace lives until
FILE is unmounted, so conmon-managed containers can join it by path and a shim restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from cri.errors import Internal

PIN_TIMEOUT_SECONDS = 10.0
UNSHARE = "unshare"


@dataclass(frozen=True, kw_only=True, slots=True)
class PinnedNamespaces:
    network: Path | None
    ipc: Path | None
    uts: Path | None

    def paths(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.network, self.ipc, self.uts) if p is not None)


async def pin(directory: Path, *, network: bool, ipc: bool, uts: bool, hostname: str) -> PinnedNamespaces:
    """New net, ipc and uts namespaces (those asked for) pinned under ``directory``."""
    pinned = PinnedNamespaces(
        network=directory / "net" if network else None,
        ipc=directory / "ipc" if ipc else None,
        uts=directory / "uts" if uts else None,
    )
    await asyncio.to_thread(_create_pin_files, directory, pinned)
    flags = (("--net", pinned.network), ("--ipc", pinned.ipc), ("--uts", pinned.uts))
    args = [f"{flag}={path}" for flag, path in flags if path is not None]
    steps = (['hostname "$1"'] if uts else []) + (["ip link set lo up"] if network else [])
    script = " && ".join(steps) or "true"
    process = await asyncio.create_subprocess_exec(
        UNSHARE,
        *args,
        "sh",
        "-c",
        script,
        "-",
        hostname,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), PIN_TIMEOUT_SECONDS)
    if process.returncode != 0:
        await asyncio.to_thread(unpin_paths, pinned.paths())
        raise Internal(f"creating pod namespaces failed: {err.decode(errors='replace').strip()}")
    return pinned


def _create_pin_files(directory: Path, pinned: PinnedNamespaces) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in pinned.paths():
        path.touch()


def unpin_paths(paths: tuple[Path, ...]) -> None:
    """Blocking: unmount and remove pin files; missing ones are fine."""
    for path in paths:
        unmount(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def unmount(path: Path) -> None:
    """Blocking: lazy-unmount ``path`` if something is mounted there."""
    if is_mountpoint(path):
        libc_umount(path)


def is_mountpoint(path: Path) -> bool:
    target = os.fsencode(str(path))
    with open("/proc/self/mountinfo", "rb") as mountinfo:
        for line in mountinfo:
            fields = line.split(b" ")
            if len(fields) > 4 and unescape_mountinfo(fields[4]) == target:
                return True
    return False


def unescape_mountinfo(field: bytes) -> bytes:
    return (
        field.replace(b"\\040", b" ")
        .replace(b"\\011", b"\t")
        .replace(b"\\012", b"\n")
        .replace(b"\\134", b"\\")
    )


def libc_umount(path: Path) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    mnt_detach = 2
    if libc.umount2(os.fsencode(str(path)), mnt_detach) != 0:
        errno = ctypes.get_errno()
        if errno not in (22, 2):  # EINVAL: not a mount point; ENOENT: gone
            raise OSError(errno, f"umount {path}: {os.strerror(errno)}")
