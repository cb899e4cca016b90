"""A StreamingRuntime on the host: exec runs the argv as a host process, attach joins a process the
test started, port-forward dials host loopback (with an optional port map, e.g. 80 -> a test server).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cri.errors import NotFound
from cri.streaming.backend import PortConnection, StreamingProcess, TerminalSize
from cri.streaming.process import ArgvProcess, start_process
from cri.streaming.types import AttachSpec, ExecSpec
from shims.node.netns_dial import dial_localhost


class Attached:
    """An attach handle: closing it detaches and leaves the process running."""

    def __init__(self, process: ArgvProcess) -> None:
        self._process = process

    async def write_stdin(self, data: bytes) -> None:
        await self._process.write_stdin(data)

    async def close_stdin(self) -> None:
        await self._process.close_stdin()

    async def read_stdout(self) -> bytes:
        return await self._process.read_stdout()

    async def read_stderr(self) -> bytes:
        return await self._process.read_stderr()

    async def resize(self, size: TerminalSize) -> None:
        await self._process.resize(size)

    async def wait(self) -> int:
        return await self._process.wait()

    async def close(self) -> None:
        """Detach."""


@dataclass
class HostRuntime:
    port_map: Mapping[int, int] = field(default_factory=dict)
    containers: dict[str, ArgvProcess] = field(default_factory=dict)
    exec_sizes: list[TerminalSize | None] = field(default_factory=list)
    started: list[ArgvProcess] = field(default_factory=list)

    async def start_container(self, container_id: str, argv: tuple[str, ...], *, tty: bool) -> ArgvProcess:
        process = await start_process(
            argv, tty=tty, stdin=True, terminal_size=TerminalSize(width=80, height=24)
        )
        self.containers[container_id] = process
        return process

    async def start_exec(self, spec: ExecSpec, *, terminal_size: TerminalSize | None) -> StreamingProcess:
        self.exec_sizes.append(terminal_size)
        process = await start_process(spec.cmd, tty=spec.tty, stdin=spec.stdin, terminal_size=terminal_size)
        self.started.append(process)
        return process

    async def attach(self, spec: AttachSpec) -> StreamingProcess:
        process = self.containers.get(spec.container_id)
        if process is None:
            raise NotFound(f"container {spec.container_id} not found")
        return Attached(process)

    async def dial_port(self, pod_sandbox_id: str, port: int) -> PortConnection:
        return await dial_localhost(self.port_map.get(port, port))

    async def close(self) -> None:
        for process in [*self.containers.values(), *self.started]:
            await process.close()
