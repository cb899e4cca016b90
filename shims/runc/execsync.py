"""ExecSync: ``runc exec`` with pipes; a timeout kills the process and answers DEADLINE_EXCEEDED."""

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
from shims.node.runc import Runc

OUTPUT_CAP = 16 * 1024 * 1024
REAP_GRACE_SECONDS = 5
READ_CHUNK = 64 * 1024


def exec_process(cmd: tuple[str, ...], spec: dict[str, Any], *, tty: bool = False) -> dict[str, Any]:
    """The container's process spec with ``cmd`` as args (same user, env, caps, cwd)."""
    process = dict(spec["process"])
    process["args"] = list(cmd)
    process["terminal"] = tty
    return process


async def _read_capped(stream: asyncio.StreamReader) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(READ_CHUNK):
        if len(kept) < OUTPUT_CAP:
            kept += chunk[: OUTPUT_CAP - len(kept)]
    return bytes(kept)


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
        process = await asyncio.create_subprocess_exec(
            *runc.exec_argv(container_id, process_file, pid_file=pid_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        outputs = asyncio.gather(_read_capped(process.stdout), _read_capped(process.stderr), process.wait())
        try:
            stdout, stderr, code = await asyncio.wait_for(outputs, timeout or None)
        except TimeoutError:
            await _kill_exec(process, pid_file)
            raise DeadlineExceeded(f"command {list(cmd)} timed out after {timeout}s") from None
    return d.ExecSyncResult(stdout=stdout, stderr=stderr, exit_code=code)


async def _kill_exec(runc_exec: asyncio.subprocess.Process, pid_file: Path) -> None:
    """Kill the exec'd process and let `runc exec`, its parent, reap it before we answer.

    Killing runc first would orphan the process: a zombie, still listed in the container, until
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
