"""Creating a container through conmon (one conmon per container, as CRI-O does).

conmon runs ``runc create``, holds the container's stdio, writes the CRI log file, serves the attach
socket and writes the exit code to ``<exit_dir>/<id>`` when the container ends; it outlives the shim.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from asyncinotify import Inotify, Mask

from cri.errors import DeadlineExceeded, Internal
from cri.streaming.conmon import write_ctl

CREATE_TIMEOUT_SECONDS = 60.0
REOPEN_TIMEOUT_SECONDS = 10.0
REOPEN_LOG_EVENT = 2
SYNC_MESSAGE_LIMIT = 64 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class ConmonSettings:
    conmon: Path
    runc: Path
    runc_root: Path


@dataclass(frozen=True, kw_only=True, slots=True)
class ConmonContainer:
    """Where conmon keeps one container's files."""

    id: str
    name: str
    bundle: Path
    log_path: str
    exit_dir: Path
    socket_dir: Path
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False

    @property
    def conmon_pid_file(self) -> Path:
        return self.bundle / "conmon.pid"

    @property
    def pid_file(self) -> Path:
        return self.bundle / "pidfile"

    @property
    def persist_dir(self) -> Path:
        return self.bundle / "persist"

    @property
    def exit_file(self) -> Path:
        return self.exit_dir / self.id

    @property
    def oom_file(self) -> Path:
        return self.persist_dir / "oom"

    @property
    def attach_socket(self) -> Path:
        return self.socket_dir / self.id / "attach"

    @property
    def ctl_path(self) -> Path:
        return self.bundle / "ctl"


@dataclass(frozen=True, kw_only=True, slots=True)
class Created:
    pid: int
    conmon_pid: int


def conmon_argv(settings: ConmonSettings, container: ConmonContainer) -> list[str]:
    argv = [
        str(settings.conmon),
        "--api-version",
        "1",
        "-b",
        str(container.bundle),
        "-c",
        container.id,
        "-u",
        container.id,
        "-n",
        container.name,
        "--exit-dir",
        str(container.exit_dir),
        "-P",
        str(container.conmon_pid_file),
        "-p",
        str(container.pid_file),
        "--persist-dir",
        str(container.persist_dir),
        "-r",
        str(settings.runc),
        "--runtime-arg",
        f"--root={settings.runc_root}",
        "--socket-dir-path",
        str(container.socket_dir),
        "--log-level",
        "error",
        "--no-sync-log",
    ]
    argv += ["-l", f"k8s-file:{container.log_path}"] if container.log_path else ["-l", "none:"]
    if container.tty:
        argv.append("-t")
    if container.stdin:
        argv.append("-i")
        if not container.stdin_once:
            argv.append("--leave-stdin-open")
    return argv


async def create(settings: ConmonSettings, container: ConmonContainer) -> Created:
    """``runc create`` under a new conmon; returns once the container exists (or raises Internal)."""
    with contextlib.suppress(FileNotFoundError):
        container.exit_file.unlink()
    for directory in (container.persist_dir, container.socket_dir, container.exit_dir, settings.runc_root):
        directory.mkdir(parents=True, exist_ok=True)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        process = await asyncio.create_subprocess_exec(
            *conmon_argv(settings, container),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=(theirs.fileno(),),
            env={**os.environ, "_OCI_SYNCPIPE": str(theirs.fileno())},
            start_new_session=True,
            cwd=container.bundle,  # conmon writes an "oom" file into its working directory
        )
        theirs.close()
        message = await asyncio.wait_for(_read_sync(ours), CREATE_TIMEOUT_SECONDS)
        _, stderr = await asyncio.wait_for(process.communicate(), CREATE_TIMEOUT_SECONDS)
    finally:
        theirs.close()
        ours.close()
    data = message.get("data", -1) if message else -1
    pid = data if isinstance(data, int) else -1
    if pid <= 0:
        detail = (message or {}).get("message") or stderr.decode(errors="replace").strip()
        raise Internal(f"creating container {container.id} failed: {detail or 'conmon gave no pid'}")
    conmon_pid = int(container.conmon_pid_file.read_text().strip())
    return Created(pid=pid, conmon_pid=conmon_pid)


async def _read_sync(sock: socket.socket) -> dict[str, object] | None:
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    buffer = b""
    while len(buffer) < SYNC_MESSAGE_LIMIT:
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            break
        buffer += chunk
        with contextlib.suppress(ValueError):
            parsed = json.loads(buffer)
            if isinstance(parsed, dict):
                return parsed
    return None


def read_conmon_pid(container: ConmonContainer) -> int:
    """Blocking: the pid conmon wrote to its pid file, or 0 when there is none."""
    try:
        text = container.conmon_pid_file.read_text().strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


def is_conmon_of(pid: int, container_id: str) -> bool:
    """Blocking: whether process ``pid`` is a conmon serving ``container_id``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"conmon" in cmdline and container_id.encode() in cmdline


def read_exit_code(container: ConmonContainer) -> int | None:
    """The exit code conmon recorded, or None while the container has not exited."""
    try:
        text = container.exit_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.lstrip("-").isdigit() else -1


def exit_time_ns(container: ConmonContainer) -> int:
    return container.exit_file.stat().st_mtime_ns


def oom_killed(container: ConmonContainer) -> bool:
    return container.oom_file.exists()


async def reopen_log(ctl_path: Path, log_path: Path) -> None:
    """Ask conmon to reopen its log file and return once the file is there again.

    conmon reopens after it reads the control FIFO, with no answer; a caller that rotated the log
    (the kubelet, critest) expects the new file to exist when ReopenContainerLog returns.
    """
    with Inotify() as inotify:
        inotify.add_watch(log_path.parent, Mask.CREATE | Mask.MOVED_TO)
        await asyncio.to_thread(write_ctl, ctl_path, REOPEN_LOG_EVENT)
        try:
            async with asyncio.timeout(REOPEN_TIMEOUT_SECONDS):
                while not await asyncio.to_thread(log_path.exists):
                    await anext(aiter(inotify))
        except TimeoutError:
            raise DeadlineExceeded(f"conmon did not reopen {log_path} in time") from None
