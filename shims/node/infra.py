"""A pod's shared PID namespace, held by an infra process (catatonit in pause mode) as its PID 1.

``unshare --pid --fork catatonit -P`` runs in its own session so it outlives the shim; containers
join ``/proc/<pid>/ns/pid``. The process start time (field 22 of ``/proc/<pid>/stat``) guards
against a recycled pid after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cri.errors import Internal

START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class InfraProcess:
    pid: int
    start_time: int

    @property
    def pid_namespace(self) -> str:
        return f"/proc/{self.pid}/ns/pid"


@dataclass(frozen=True, kw_only=True, slots=True)
class StartedInfra:
    process: InfraProcess
    launcher: asyncio.subprocess.Process
    """The ``unshare`` parent, our child: wait for it after ``stop`` so it is reaped."""


def start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_alive(infra: InfraProcess) -> bool:
    return start_time(infra.pid) == infra.start_time


async def start(pause_binary: Path, *, environment: Mapping[str, str]) -> StartedInfra:
    """Start the infra process; returns once it runs as PID 1 of a new PID namespace.

    ``environment`` is its whole environment: it lets an operator (or a test) find whose it is.
    """
    launcher = await asyncio.create_subprocess_exec(
        "unshare", "--pid", "--fork", "--kill-child=SIGKILL", str(pause_binary), "-P",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True, env=dict(environment),
    )  # fmt: skip
    try:
        pid = await asyncio.wait_for(_child_of(launcher.pid), START_TIMEOUT_SECONDS)
    except BaseException:
        launcher.kill()
        await launcher.wait()
        raise
    started = start_time(pid)
    if started is None:
        await launcher.wait()
        raise Internal("the pod's infra process ended at once")
    return StartedInfra(process=InfraProcess(pid=pid, start_time=started), launcher=launcher)


async def _child_of(parent: int) -> int:
    while (child := _execd_child(parent)) is None:  # noqa: ASYNC110 (/proc has no event for an exec)
        await asyncio.sleep(0.002)
    return child


def _execd_child(parent: int) -> int | None:
    """The forked child once it has exec'd catatonit (it no longer runs unshare's executable)."""
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        if children and os.readlink(f"/proc/{children[0]}/exe") != os.readlink(f"/proc/{parent}/exe"):
            return int(children[0])
    except OSError:
        pass
    return None


def stop(infra: InfraProcess) -> None:
    """SIGKILL the infra process (and with it every process in the pod's PID namespace)."""
    if is_alive(infra):
        with contextlib.suppress(ProcessLookupError):
            os.kill(infra.pid, signal.SIGKILL)


def tagged(environment: Mapping[str, str]) -> list[InfraProcess]:
    """Blocking: the running processes whose environment holds all of ``environment`` (infra
    processes ``start`` tagged, and their launchers), e.g. those of a pod whose record is lost."""
    markers = [f"{key}={value}".encode() for key, value in environment.items()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            variables = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        started = start_time(int(entry.name))
        if started is not None and all(marker in variables for marker in markers):
            found.append(InfraProcess(pid=int(entry.name), start_time=started))
    return found
