"""Attach through conmon: its attach socket (SOCK_SEQPACKET) and its ``ctl`` FIFO for resizes.

conmon (``--socket-dir-path DIR``) listens on ``DIR/<container-id>/attach``. Every packet it sends
starts with one byte naming the pipe (2 stdout, 3 stderr); what a client writes is the container's
stdin, and shutting down the write side closes it (unless conmon runs with
``--leave-stdin-open``). A resize is the line ``1 <height> <width>`` written to ``<bundle>/ctl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

from cri.streaming.backend import TerminalSize

PIPE_STDOUT = 2
PIPE_STDERR = 3
PACKET_SIZE = 8192 + 1
RESIZE_EVENT = 1
OUTPUT_QUEUE = 32


class ConmonAttach:
    """A StreamingProcess attached to a conmon-managed container; ``close`` detaches."""

    def __init__(
        self, sock: socket.socket, *, ctl_path: Path | None, exited: asyncio.Future[int] | None
    ) -> None:
        self._sock = sock
        self._ctl_path = ctl_path
        self._exited = exited
        self._stdout: asyncio.Queue[bytes] = asyncio.Queue(OUTPUT_QUEUE)
        self._stderr: asyncio.Queue[bytes] = asyncio.Queue(OUTPUT_QUEUE)
        self._reader = asyncio.create_task(self._demultiplex())

    @classmethod
    async def connect(
        cls, attach_socket: Path, *, ctl_path: Path | None = None, exited: asyncio.Future[int] | None = None
    ) -> ConmonAttach:
        """``exited`` resolves to the container's exit code, if the shim knows it; else ``wait`` gives 0."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, str(attach_socket))
        except OSError:
            sock.close()
            raise
        return cls(sock, ctl_path=ctl_path, exited=exited)

    async def _demultiplex(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while packet := await loop.sock_recv(self._sock, PACKET_SIZE):
                if packet[0] == PIPE_STDOUT and len(packet) > 1:
                    await self._stdout.put(packet[1:])
                elif packet[0] == PIPE_STDERR and len(packet) > 1:
                    await self._stderr.put(packet[1:])
        except OSError:
            pass
        finally:
            for queue in (self._stdout, self._stderr):
                await queue.put(b"")

    async def write_stdin(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self._sock, data)

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    async def read_stdout(self) -> bytes:
        return await _next(self._stdout)

    async def read_stderr(self) -> bytes:
        return await _next(self._stderr)

    async def resize(self, size: TerminalSize) -> None:
        if self._ctl_path is not None:
            await asyncio.to_thread(write_resize, self._ctl_path, size)

    async def wait(self) -> int:
        if self._exited is None:
            return 0
        return await asyncio.shield(self._exited)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self._sock.close()


async def _next(queue: asyncio.Queue[bytes]) -> bytes:
    data = await queue.get()
    if not data:
        queue.put_nowait(b"")
    return data


def write_resize(ctl_path: Path, size: TerminalSize) -> None:
    """Blocking: tell conmon the terminal's new size."""
    write_ctl(ctl_path, RESIZE_EVENT, size.height, size.width)


def write_ctl(ctl_path: Path, event: int, first: int = 0, second: int = 0) -> None:
    """Blocking: conmon's ctl FIFO takes ``<event> <a> <b>`` lines (1 resize, 2 reopen the log)."""
    fd = os.open(ctl_path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, f"{event} {first} {second}\n".encode())
    finally:
        os.close(fd)
