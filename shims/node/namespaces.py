"""Pod namespaces pinned by bind mounts (no process holds them): net, ipc and uts.

A short-lived thread of the shim unshares the namespaces (``unshare(2)`` moves only the calling
thread), sets the hostname, brings up ``lo`` and bind-mounts its ``/proc/self/task/<tid>/ns/*`` on
the pin files, then exits: the namespaces live until the files are unmounted, so conmon-managed
containers join them by path and a shim restart loses nothing. No process is spawned per pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from cri.errors import Internal
from shims.node.syscalls import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUTS, MS_BIND, detach, mount, unshare

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = struct.Struct("16sH14x")


@dataclass(frozen=True, kw_only=True, slots=True)
class PinnedNamespaces:
    network: Path | None
    ipc: Path | None
    uts: Path | None

    def paths(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.network, self.ipc, self.uts) if p is not None)

    def by_kind(self) -> tuple[tuple[str, int, Path], ...]:
        kinds = (
            ("net", CLONE_NEWNET, self.network),
            ("ipc", CLONE_NEWIPC, self.ipc),
            ("uts", CLONE_NEWUTS, self.uts),
        )
        return tuple((kind, flag, path) for kind, flag, path in kinds if path is not None)


async def pin(directory: Path, *, network: bool, ipc: bool, uts: bool, hostname: str) -> PinnedNamespaces:
    """New net, ipc and uts namespaces (those asked for) pinned under ``directory``."""
    pinned = PinnedNamespaces(
        network=directory / "net" if network else None,
        ipc=directory / "ipc" if ipc else None,
        uts=directory / "uts" if uts else None,
    )
    try:
        await asyncio.to_thread(_create_pin_files, directory, pinned)
        await asyncio.to_thread(_pin_in_own_thread, pinned, hostname)
    except OSError as exc:
        await asyncio.to_thread(unpin_paths, pinned.paths())
        raise Internal(f"creating pod namespaces failed: {exc}") from exc
    return pinned


def _pin_in_own_thread(pinned: PinnedNamespaces, hostname: str) -> None:
    """Blocking: pin from a new thread that ends right after (the shim's threads keep the host's)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            _unshare_and_pin(pinned, hostname)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="pin-namespaces", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _unshare_and_pin(pinned: PinnedNamespaces, hostname: str) -> None:
    flags = 0
    for _, flag, _ in pinned.by_kind():
        flags |= flag
    unshare(flags)
    if pinned.uts is not None:
        socket.sethostname(hostname)
    if pinned.network is not None:
        _loopback_up()
    task = f"/proc/self/task/{threading.get_native_id()}/ns"
    for kind, _, path in pinned.by_kind():
        mount(f"{task}/{kind}", path, None, MS_BIND)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = IFREQ.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, IFREQ.pack(b"lo", 0)))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, IFREQ.pack(b"lo", flags | IFF_UP))


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
        detach(path)


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
