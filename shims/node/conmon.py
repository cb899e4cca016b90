"""Creating a container through conmon (one conmon per container, as CRI-O does), and ExecSync.

conmon runs ``runc create``, holds the container's stdio, writes the CRI log file, serves the attach
socket and writes the exit code to ``<exit_dir>/<id>`` when the container ends; it outlives the shim.
For ExecSync, ``conmon --exec --sync`` runs ``runc exec --detach``, reaps the command as its
subreaper, writes its output as a CRI log and reports the exit code (or why it could not start).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from asyncinotify import Inotify, Mask

from cri.errors import DeadlineExceeded, Internal
from shims.node.conmon_attach import write_ctl

CREATE_TIMEOUT_SECONDS = 60.0
REOPEN_TIMEOUT_SECONDS = 10.0
REOPEN_LOG_EVENT = 2
SYNC_MESSAGE_LIMIT = 64 * 1024
EXEC_GRACE_SECONDS = 10.0


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
    # conmon writes an "oom" file into its working directory: the bundle's
    async with _spawn(conmon_argv(settings, container), cwd=container.bundle) as (process, sync):
        pid, detail = await asyncio.wait_for(sync.next(), CREATE_TIMEOUT_SECONDS)
        _, stderr = await asyncio.wait_for(process.communicate(), CREATE_TIMEOUT_SECONDS)
    if pid <= 0:
        detail = detail or stderr.decode(errors="replace").strip()
        raise Internal(f"creating container {container.id} failed: {detail or 'conmon gave no pid'}")
    conmon_pid = int(container.conmon_pid_file.read_text().strip())
    return Created(pid=pid, conmon_pid=conmon_pid)


@contextlib.asynccontextmanager
async def _spawn(argv: list[str], *, cwd: Path) -> AsyncIterator[tuple[Process, _SyncPipe]]:
    """conmon in a session of its own, with the sync pipe it reports on (``_OCI_SYNCPIPE``)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=(theirs.fileno(),),
            env={**os.environ, "_OCI_SYNCPIPE": str(theirs.fileno())},
            start_new_session=True,
            cwd=cwd,
        )
        theirs.close()
        async with _SyncPipe.open(ours) as sync:
            yield process, sync
    finally:
        theirs.close()
        ours.close()


class _SyncPipe:
    """The JSON lines conmon writes to its sync pipe: ``{"data": N, "message": "..."}``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, sock: socket.socket) -> AsyncIterator[_SyncPipe]:
        """Our end of the pipe, closed on the way out."""
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=SYNC_MESSAGE_LIMIT)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()

    async def next(self) -> tuple[int, str]:
        """The next message's data and message; (-1, "") once conmon closed the pipe."""
        line = await self._reader.readline()
        try:
            parsed = json.loads(line) if line else {}
        except ValueError:
            parsed = {}
        data = parsed.get("data", -1) if isinstance(parsed, dict) else -1
        detail = parsed.get("message", "") if isinstance(parsed, dict) else ""
        return (data if isinstance(data, int) else -1), (detail if isinstance(detail, str) else "")


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecRequest:
    """One ExecSync: the process spec to run in a running container, a scratch directory, the
    timeout in seconds (0: none) and the bytes the output log may take."""

    container_id: str
    bundle: Path
    process_file: Path
    scratch: Path
    timeout: int
    output_limit: int

    @property
    def output_log(self) -> Path:
        return self.scratch / "output.log"


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecOutcome:
    exit_code: int  # 255 (as ``runc exec``) when the command could not start
    timed_out: bool
    message: str  # why the command could not start


def exec_argv(settings: ConmonSettings, request: ExecRequest) -> list[str]:
    return [
        str(settings.conmon), "--api-version", "1", "--exec", "--sync",
        "-c", request.container_id, "-u", request.scratch.name, "-n", request.container_id,
        "-b", str(request.bundle), "-r", str(settings.runc), "--runtime-arg", f"--root={settings.runc_root}",
        "--exec-process-spec", str(request.process_file), "-p", str(request.scratch / "pid"),
        "--socket-dir-path", str(request.scratch), "-l", f"k8s-file:{request.output_log}",
        "--log-global-size-max", str(request.output_limit), "--no-sync-log", "--log-level", "error",
    ]  # fmt: skip


async def exec_sync(settings: ConmonSettings, request: ExecRequest) -> ExecOutcome:
    """Run the command; its output is in ``request.output_log`` afterwards.

    Past the timeout we kill the command and let conmon, its reaper, report that exit: conmon's own
    ``-T`` exits without reaping, and the killed command stays a zombie in the container for a while.
    """
    async with _spawn(exec_argv(settings, request), cwd=request.scratch) as (process, sync):
        try:
            outcome = await _exec_outcome(sync, process, request.timeout)
            await asyncio.wait_for(process.wait(), EXEC_GRACE_SECONDS)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        return outcome


async def _exec_outcome(sync: _SyncPipe, process: Process, timeout: int) -> ExecOutcome:
    pid, timed_out = 0, False
    try:
        async with asyncio.timeout(timeout or None):
            pid, detail = await sync.next()
            if pid <= 0:
                assert process.stderr is not None
                detail = detail or (await process.stderr.read()).decode(errors="replace").strip()
                return ExecOutcome(exit_code=255, timed_out=False, message=detail or "conmon gave no pid")
            code, detail = await sync.next()
    except TimeoutError:
        if pid <= 0:  # still starting: conmon goes, runc exec with it (same session)
            os.killpg(process.pid, signal.SIGKILL)
            return ExecOutcome(exit_code=-1, timed_out=True, message="")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        code, detail = -1, ""
        with contextlib.suppress(TimeoutError):
            code, detail = await asyncio.wait_for(sync.next(), EXEC_GRACE_SECONDS)
        timed_out = True
    if code < 0 and not timed_out:
        return ExecOutcome(exit_code=255, timed_out=False, message=detail or "conmon gave no exit code")
    return ExecOutcome(exit_code=code, timed_out=timed_out, message="")


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
