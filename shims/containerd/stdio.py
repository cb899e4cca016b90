"""The FIFOs a containerd task's process reads and writes.

containerd's runc shim opens the FIFOs for writing when the task (or exec) is created; the shim opens
the read ends first, non-blocking, so that open never waits, and reads them once the writer is there
(after Tasks.Create for an init process, after Tasks.Start for an exec). A read end closed early
would make containerd's open block and the start time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from shims.containerd.client.tasks import Stdio

READ_BYTES = 64 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class Fifos:
    stdin: Path | None
    stdout: Path
    stderr: Path | None
    """None with a terminal: the terminal carries both streams on stdout."""

    def stdio(self, *, terminal: bool = False) -> Stdio:
        return Stdio(
            stdin=str(self.stdin or ""),
            stdout=str(self.stdout),
            stderr=str(self.stderr or ""),
            terminal=terminal,
        )

    def remove(self) -> None:
        for path in (self.stdin, self.stdout, self.stderr):
            if path is not None:
                path.unlink(missing_ok=True)


def fifos_named(directory: Path, name: str, *, stdin: bool, terminal: bool) -> Fifos:
    """Where ``make_fifos`` makes the FIFOs of ``name`` (a restarted shim finds them there)."""
    return Fifos(
        stdin=directory / f"{name}-stdin" if stdin else None,
        stdout=directory / f"{name}-stdout",
        stderr=None if terminal else directory / f"{name}-stderr",
    )


def make_fifos(directory: Path, name: str, *, stdin: bool, terminal: bool) -> Fifos:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fifos = fifos_named(directory, name, stdin=stdin, terminal=terminal)
    for path in (fifos.stdin, fifos.stdout, fifos.stderr):
        if path is not None:
            path.unlink(missing_ok=True)
            os.mkfifo(path, 0o600)
    return fifos


class FifoReader:
    """The read end of an output FIFO, opened at once without waiting for a writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)

    async def chunks(self) -> AsyncIterator[bytes]:
        """What the process writes, until every writer has closed (start after the writer opened)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_BYTES)
        pipe = os.fdopen(self._fd, "rb", buffering=0)
        self._fd = -1
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        try:
            while chunk := await reader.read(READ_BYTES):
                yield chunk
        finally:
            transport.close()

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
