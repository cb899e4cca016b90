"""What a shim implements so the streaming server can exec, attach and forward ports.

Building block for implementations: ``cri.streaming.process.start_process`` runs an argv (an
engine's exec command) on pipes or a pseudo-terminal; how a shim reaches a pod's ports is its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from cri.streaming.types import AttachSpec, ExecSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class TerminalSize:
    width: int
    height: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PortConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class StreamingProcess(Protocol):
    """The stdio of an exec'd process or of an attached container.

    In tty mode everything the process writes comes out of ``read_stdout`` and ``read_stderr``
    returns b"" at once.
    """

    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    async def read_stdout(self) -> bytes:
        """The next output; b"" at end of output."""
        ...

    async def read_stderr(self) -> bytes: ...
    async def resize(self, size: TerminalSize) -> None: ...
    async def wait(self) -> int:
        """The exit code (for an attach: of the container, once its output ended)."""
        ...

    async def close(self) -> None:
        """The client is gone: stop an exec'd process, detach from a container."""
        ...


class StreamingRuntime(Protocol):
    async def start_exec(self, spec: ExecSpec, *, terminal_size: TerminalSize | None) -> StreamingProcess:
        """Start ``spec.cmd`` in the container; with a tty, ``terminal_size`` is applied first."""
        ...

    async def attach(self, spec: AttachSpec) -> StreamingProcess:
        """Connect to the stdio of the container's main process."""
        ...

    async def dial_port(self, pod_sandbox_id: str, port: int) -> PortConnection:
        """A TCP connection to localhost:``port`` in the pod's network namespace.

        Raises ``OSError`` (its message is shown to the user) when nothing listens there.
        """
        ...
