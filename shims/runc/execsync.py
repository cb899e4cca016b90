"""ExecSync: ``runc exec`` with pipes; a timeout kills the process and answers DEADLINE_EXCEEDED.

The answer comes when the command exits (``shims.node.execwait``), not when a child it left in the
background closes the pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import DeadlineExceeded, FailedPrecondition
from shims.node import execwait
from shims.node.runc import Runc

OUTPUT_CAP = 16 * 1024 * 1024
REAP_GRACE_SECONDS = 5
DRAIN_SECONDS = 2  # output still arriving after the command exited, as conmon drains it
READ_CHUNK = 64 * 1024


def exec_process(cmd: tuple[str, ...], spec: dict[str, Any], *, tty: bool = False) -> dict[str, Any]:
    """The container's process spec with ``cmd`` as args (same user, env, caps, cwd)."""
    process = dict(spec["process"])
    process["args"] = list(cmd)
    process["terminal"] = tty
    return process


class _Output:
    """One output pipe of the command, read (capped) apart from the process: its exit is seen on its own."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.kept = bytearray()

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(self.read_fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        try:
            while chunk := await reader.read(READ_CHUNK):
                if len(self.kept) < OUTPUT_CAP:
                    self.kept += chunk[: OUTPUT_CAP - len(self.kept)]
        finally:
            transport.close()


async def _drain(readers: asyncio.Future[Any]) -> None:
    """The output left once the command exited; a child it left in the background is not waited for."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(readers, DRAIN_SECONDS)


async def _spawn(argv: list[str], stdout: _Output, stderr: _Output) -> asyncio.subprocess.Process:
    try:
        return await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=stdout.write_fd, stderr=stderr.write_fd
        )
    except BaseException:
        for output in (stdout, stderr):
            os.close(output.read_fd)
        raise
    finally:
        for output in (stdout, stderr):
            os.close(output.write_fd)


async def exec_sync(
    runc: Runc, container_id: str, bundle: Path, cmd: tuple[str, ...], *, timeout: int
) -> d.ExecSyncResult:
    try:
        spec = json.loads((bundle / "config.json").read_text())
    except FileNotFoundError:
        # The container exited between the state check and here: its exit released the bundle.
        raise FailedPrecondition(f"container {container_id} is not running") from None
    with tempfile.TemporaryDirectory(prefix="exec-", dir=bundle) as scratch:
        process_file, pid_file = Path(scratch) / "process.json", Path(scratch) / "pid"
        process_file.write_text(json.dumps(exec_process(cmd, spec)))
        runc_argv = runc.exec_argv(container_id, process_file, pid_file=pid_file, detach=True)
        argv = execwait.command(str(pid_file), runc_argv)
        stdout, stderr = _Output(), _Output()
        process = await _spawn(argv, stdout, stderr)
        readers = asyncio.gather(stdout.read(), stderr.read())
        try:
            code = await asyncio.wait_for(process.wait(), timeout or None)
        except TimeoutError:
            readers.cancel()
            await _kill_exec(process, pid_file)
            raise DeadlineExceeded(f"command {list(cmd)} timed out after {timeout}s") from None
        await _drain(readers)
    return d.ExecSyncResult(stdout=bytes(stdout.kept), stderr=bytes(stderr.kept), exit_code=code)


async def _kill_exec(runc_exec: asyncio.subprocess.Process, pid_file: Path) -> None:
    """Kill the exec'd process and let execwait, its reaper, reap it before we answer.

    Killing execwait first would orphan the process: a zombie, still listed in the container, until
    the host's init reaps it.
    """
    _signal_exec(pid_file)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(runc_exec.wait()), REAP_GRACE_SECONDS)
        return
    with contextlib.suppress(ProcessLookupError):
        runc_exec.kill()
    await runc_exec.wait()


def _signal_exec(pid_file: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
