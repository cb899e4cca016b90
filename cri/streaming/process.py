"""Running an argv (``sh -c ...``, an engine's exec command) as a StreamingProcess, on pipes or a pty."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import termios
from collections.abc import Sequence

from cri.streaming.backend import TerminalSize

READ_CHUNK = 32 * 1024
KILL_GRACE_SECONDS = 5.0


async def start_process(
    argv: Sequence[str],
    *,
    tty: bool,
    stdin: bool,
    terminal_size: TerminalSize | None = None,
    env: dict[str, str] | None = None,
) -> ArgvProcess:
    """Start ``argv``; with ``tty`` on a new pty (its size set before the process starts)."""
    if tty:
        return await _start_on_pty(argv, stdin=stdin, terminal_size=terminal_size, env=env)
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    return ArgvProcess(process, pty_master=None)


async def _start_on_pty(
    argv: Sequence[str], *, stdin: bool, terminal_size: TerminalSize | None, env: dict[str, str] | None
) -> ArgvProcess:
    master, slave = os.openpty()
    try:
        if terminal_size is not None:
            set_window_size(master, terminal_size)
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=slave if stdin else asyncio.subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_controlling_terminal if stdin else None,
            env=env,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return ArgvProcess(process, pty_master=master)


def _take_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def set_window_size(fd: int, size: TerminalSize) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.height, size.width, 0, 0))


class ArgvProcess:
    """A host process on pipes, or on the master side of its pty."""

    def __init__(
        self, process: asyncio.subprocess.Process, *, pty_master: int | None, tty: bool = False
    ) -> None:
        self._process = process
        self._master = pty_master
        self._tty = tty or pty_master is not None

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def write_stdin(self, data: bytes) -> None:
        if self._master is not None:
            await _write_fd(self._master, data)
            return
        if self._process.stdin is None:
            return
        with contextlib.suppress(ConnectionError):
            self._process.stdin.write(data)
            await self._process.stdin.drain()

    async def close_stdin(self) -> None:
        if self._master is not None:
            with contextlib.suppress(OSError):
                await _write_fd(self._master, bytes([termios.tcgetattr(self._master)[6][termios.VEOF][0]]))
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
            with contextlib.suppress(ConnectionError):
                await self._process.stdin.wait_closed()

    async def read_stdout(self) -> bytes:
        if self._master is not None:
            return await _read_fd(self._master)
        assert self._process.stdout is not None
        return await self._process.stdout.read(READ_CHUNK)

    async def read_stderr(self) -> bytes:
        """Nothing in tty mode (a runtime's own stderr there is its diagnostics, not the process's)."""
        if self._process.stderr is None or self._tty:
            return b""
        return await self._process.stderr.read(READ_CHUNK)

    async def resize(self, size: TerminalSize) -> None:
        if self._master is not None:
            set_window_size(self._master, size)

    async def wait(self) -> int:
        code = await self._process.wait()
        return 128 - code if code < 0 else code  # killed by a signal: the shell convention 128+N

    async def close(self) -> None:
        """Hang up the terminal, then SIGTERM (which an exec command forwards), then SIGKILL."""
        if self._master is not None:
            os.close(self._master)
            self._master = None
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), KILL_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.send_signal(signal.SIGKILL)
                await self._process.wait()


async def _read_fd(fd: int) -> bytes:
    """Read a non-blocking fd; a pty master whose slave side is gone reads as EOF (EIO)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return os.read(fd, READ_CHUNK)
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise
        readable = loop.create_future()
        loop.add_reader(fd, _resolve, readable)
        try:
            await readable
        finally:
            loop.remove_reader(fd)


async def _write_fd(fd: int, data: bytes) -> None:
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
            continue
        except BlockingIOError:
            pass
        writable = loop.create_future()
        loop.add_writer(fd, _resolve, writable)
        try:
            await writable
        finally:
            loop.remove_writer(fd)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
