"""Exec, attach and port-forward sessions for the runc shim (``cri.streaming`` serves the protocols).

Exec runs ``runc exec --process`` (the container's own user, env and capabilities) on our pipes or
pty; attach connects to conmon's attach socket; port-forward dials localhost in the pod's netns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cri.errors import FailedPrecondition
from cri.streaming.backend import PortConnection, StreamingProcess, TerminalSize
from cri.streaming.process import ArgvProcess, start_process
from cri.streaming.types import AttachSpec, ExecSpec
from shims.node.conmon_attach import ConmonAttach
from shims.node.netns_dial import dial_in_netns, dial_localhost
from shims.node.ocispec import exec_process
from shims.runc.runtime import RuncRuntime

RUNNING_STATES = ("CONTAINER_RUNNING",)


class RuncStreaming:
    """``cri.streaming.backend.StreamingRuntime`` over the runc shim's records."""

    def __init__(self, runtime: RuncRuntime) -> None:
        self._runtime = runtime
        self._cleanups: set[asyncio.Task[None]] = set()

    def _running_bundle(self, container_id: str) -> tuple[str, Path]:
        record = self._runtime.table.container(container_id)
        if record.state.name not in RUNNING_STATES:
            raise FailedPrecondition(f"container {record.id} is not running")
        return record.id, self._runtime.paths.bundle(record.id)

    async def start_exec(self, spec: ExecSpec, *, terminal_size: TerminalSize | None) -> StreamingProcess:
        container_id, bundle = self._running_bundle(spec.container_id)
        process_file = bundle / f"exec-{secrets.token_hex(8)}.json"
        pid_file = process_file.with_suffix(".pid")
        await asyncio.to_thread(_write_process, bundle, process_file, spec.cmd, spec.tty, terminal_size)
        argv = self._runtime.runc.exec_argv(container_id, process_file, pid_file=pid_file, tty=spec.tty)
        process = await start_process(argv, tty=spec.tty, stdin=spec.stdin, terminal_size=terminal_size)
        task = asyncio.create_task(_remove_when_done(process, (process_file, pid_file)))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        return process

    async def attach(self, spec: AttachSpec) -> StreamingProcess:
        record = self._runtime.table.container(spec.container_id)
        view = self._runtime.container_host.conmon_view(record)
        # Through /proc/self/fd: the socket's own path may be longer than AF_UNIX allows (108 bytes).
        directory = os.open(view.attach_socket.parent, os.O_PATH | os.O_DIRECTORY)
        try:
            return await ConmonAttach.connect(
                Path(f"/proc/self/fd/{directory}/attach"),
                ctl_path=view.ctl_path,
                exited=self._runtime.container_manager.exited(record.id),
            )
        finally:
            os.close(directory)

    async def dial_port(self, pod_sandbox_id: str, port: int) -> PortConnection:
        sandbox = self._runtime.table.sandbox(pod_sandbox_id)
        if not sandbox.netns:
            return await dial_localhost(port)
        return await dial_in_netns(Path(sandbox.netns), port)


def _write_process(
    bundle: Path, target: Path, cmd: tuple[str, ...], tty: bool, size: TerminalSize | None
) -> None:
    spec: dict[str, Any] = json.loads((bundle / "config.json").read_text())
    process = exec_process(cmd, spec, tty=tty)
    if tty and size is not None:
        process["consoleSize"] = {"height": size.height, "width": size.width}
    target.write_text(json.dumps(process))


async def _remove_when_done(process: ArgvProcess, paths: tuple[Path, ...]) -> None:
    with contextlib.suppress(Exception):
        await process.wait()
    for path in paths:
        path.unlink(missing_ok=True)
