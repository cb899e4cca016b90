"""A task's output copied from its FIFOs into the container's CRI log file, as containerd's CRI does.

Both streams share one ``cri.crilog.LogWriter``; ReopenContainerLog swaps the file under it (the
kubelet has moved the old one away), keeping an unfinished line for the new file.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

from cri.crilog import LogWriter
from shims.containerd.stdio import FifoReader


def _open(path: Path | None) -> BinaryIO:
    """The log file for appending; output of a container without one is read and dropped."""
    if path is None:
        return open(os.devnull, "wb")
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "ab", buffering=0)


class ContainerLog:
    def __init__(self, path: Path | None, *, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self._clock = clock
        self._writer = LogWriter(_open(path))

    async def copy(self, outputs: Mapping[str, FifoReader]) -> None:
        """Copy every stream (``stdout``, ``stderr``) until the process and its children closed them;
        the log ends with what is left of unfinished lines, as partial records."""
        try:
            async with asyncio.TaskGroup() as streams:
                for stream, reader in outputs.items():
                    streams.create_task(self._pump(stream, reader))
        finally:
            self.close()

    async def _pump(self, stream: str, reader: FifoReader) -> None:
        async for chunk in reader.chunks():
            self._writer.write(stream, chunk, self._clock())

    def reopen(self) -> None:
        """Continue in a new file at the same path (ReopenContainerLog after rotation)."""
        if self._writer.sink.closed:
            return
        old = self._writer.sink
        self._writer.sink = _open(self.path)
        old.close()

    def close(self) -> None:
        if not self._writer.sink.closed:
            self._writer.close(self._clock())
            self._writer.sink.close()
