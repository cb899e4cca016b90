"""The client side of CRI streaming for exec and attach, whichever the transport.

What both transports share: the user's terminal (raw mode, sizes, stdin, the detach keys) and the
``metav1.Status`` that ends a session (Success, or a Failure whose ``NonZeroExitCode`` cause carries
the exit code). ``spdy_transport`` (crictl's default) and ``ws_transport`` (``v5.channel.k8s.io``,
falling back to ``v4``) carry the channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import stat
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from cri.crictl.session import Session

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q
READ_SIZE = 32 * 1024


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    tty: bool
    stdin: bool
    transport: str
    detach_keys: bool = False


@dataclass(frozen=True, kw_only=True)
class StreamOutcome:
    """How the remote side ended: ``error`` is None on Success."""

    error: str | None
    exit_code: int = 0


def outcome_of_status(raw: bytes) -> StreamOutcome:
    """Read the ``metav1.Status`` a streaming server sends on the error channel."""
    try:
        status: Any = json.loads(raw)
    except ValueError:
        text = raw.decode(errors="replace").strip()
        return StreamOutcome(error=text or "unknown streaming error", exit_code=1)
    if not isinstance(status, dict) or status.get("status") == "Success":
        return StreamOutcome(error=None)
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                code = int(cause.get("message", "1"))
                return StreamOutcome(error=f"command terminated with exit code {code}", exit_code=code)
    return StreamOutcome(error=str(status.get("message") or "error executing command"), exit_code=1)


def websocket_url(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(width, height) of the terminal on ``fd``, or None when it is not a terminal."""
    try:
        import fcntl
        import termios

        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, columns = struct.unpack("HHHH", packed)[:2]
    return columns, rows


@contextlib.contextmanager
def raw_terminal(fd: int | None) -> Iterator[None]:
    """Raw mode on a terminal for the session's duration (nothing for pipes and files)."""
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _stdin_fd(session: Session) -> int | None:
    try:
        return session.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None


async def stdin_chunks(session: Session) -> AsyncIterator[bytes]:
    """The user's input as it arrives: a terminal or pipe without blocking the loop."""
    fd = _stdin_fd(session)
    if fd is None:
        data = session.stdin.read()
        if data:
            yield data.encode()
        return
    if stat.S_ISREG(os.fstat(fd).st_mode):
        while chunk := await asyncio.to_thread(os.read, fd, READ_SIZE):
            yield chunk
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            queue.put_nowait(os.read(fd, READ_SIZE))
        except BlockingIOError:
            return
        except OSError:
            queue.put_nowait(b"")

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
    try:
        while chunk := await queue.get():
            yield chunk
    finally:
        loop.remove_reader(fd)
        os.set_blocking(fd, True)


def resize_message(size: tuple[int, int]) -> bytes:
    return json.dumps({"Width": size[0], "Height": size[1]}, separators=(",", ":")).encode()


async def run_stream(session: Session, url: str, options: StreamOptions) -> StreamOutcome:
    """Run one exec or attach session on ``url`` with the user's terminal."""
    with raw_terminal(_stdin_fd(session) if options.tty and options.stdin else None):
        if options.transport == "websocket":
            from cri.crictl.ws_transport import run_websocket

            return await run_websocket(session, websocket_url(url), options)
        from cri.crictl.spdy_transport import run_spdy

        return await run_spdy(session, url, options)


def watch_resizes(session: Session) -> asyncio.Queue[tuple[int, int]]:
    """Terminal sizes: the current one now, then one per SIGWINCH."""
    sizes: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    fd = _stdin_fd(session)
    if fd is None or terminal_size(fd) is None:
        return sizes

    def changed() -> None:
        size = terminal_size(fd)
        if size is not None:
            sizes.put_nowait(size)

    changed()
    with contextlib.suppress(ValueError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGWINCH, changed)
    return sizes


class DetachFilter:
    """Swallows ctrl-p ctrl-q in stdin and reports that the user asked to detach."""

    def __init__(self) -> None:
        self.held = b""

    def feed(self, chunk: bytes) -> tuple[bytes, bool]:
        data = self.held + chunk
        self.held = b""
        found = data.find(DETACH_KEYS)
        if found != -1:
            return data[:found], True
        if data.endswith(DETACH_KEYS[:1]):
            self.held = data[-1:]
            data = data[:-1]
        return data, False
