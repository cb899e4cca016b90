"""Exec and attach, independent of the wire: pump stdio between channels and a process.

A protocol adapter (SPDY streams or WebSocket channels) provides ``CommandChannels``; this module
decides the order of things: the first terminal size before the process starts, output drained
before the exit status, the status last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from cri.errors import CRIError
from cri.streaming.backend import StreamingProcess, TerminalSize
from cri.streaming.status import SessionResult

log = logging.getLogger(__name__)

FIRST_RESIZE_TIMEOUT_SECONDS = 1.0
MAX_RESIZE_BUFFER = 4096


class InputChannel(Protocol):
    async def read(self) -> bytes:
        """The next bytes from the client; b"" once it closed the channel."""
        ...


class OutputChannel(Protocol):
    async def write(self, data: bytes) -> None: ...
    async def close_write(self) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandChannels:
    stdin: InputChannel | None
    stdout: OutputChannel | None
    stderr: OutputChannel | None
    resize: InputChannel | None
    client_gone: asyncio.Event


ProcessStarter = Callable[[TerminalSize | None], Awaitable[StreamingProcess]]


class ResizeDecoder:
    """Terminal sizes from a stream of JSON objects ``{"Width":W,"Height":H}``, newline-separated or not."""

    def __init__(self) -> None:
        self._buffer = ""
        self._json = json.JSONDecoder()

    def feed(self, data: bytes) -> list[TerminalSize]:
        self._buffer += data.decode(errors="replace")
        sizes: list[TerminalSize] = []
        while self._buffer.strip():
            text = self._buffer.lstrip()
            try:
                value, end = self._json.raw_decode(text)
            except json.JSONDecodeError:
                if len(self._buffer) > MAX_RESIZE_BUFFER:
                    log.warning("dropping an undecodable resize message")
                    self._buffer = ""
                break
            self._buffer = text[end:]
            size = _terminal_size(value)
            if size is not None:
                sizes.append(size)
        return sizes


def _terminal_size(value: object) -> TerminalSize | None:
    if not isinstance(value, dict):
        return None
    width, height = value.get("Width"), value.get("Height")
    if (
        not isinstance(width, int)
        or not isinstance(height, int)
        or not (0 <= width < 65536 and 0 <= height < 65536)
    ):
        return None
    return TerminalSize(width=width, height=height)


async def first_terminal_size(
    resize: InputChannel | None, decoder: ResizeDecoder
) -> tuple[TerminalSize | None, list[TerminalSize]]:
    """Wait briefly for the client's first size so the process starts with it applied."""
    if resize is None:
        return None, []
    sizes: list[TerminalSize] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FIRST_RESIZE_TIMEOUT_SECONDS):
            while not sizes:
                data = await resize.read()
                if not data:
                    break
                sizes = decoder.feed(data)
    return (sizes[0], sizes[1:]) if sizes else (None, [])


async def run_command(
    channels: CommandChannels, start: ProcessStarter, *, tty: bool, attach: bool
) -> SessionResult:
    """Run one exec or attach session to its end; the caller then sends the status."""
    decoder = ResizeDecoder()
    initial, pending_sizes = await first_terminal_size(channels.resize if tty else None, decoder)
    try:
        process = await start(initial)
    except (CRIError, OSError) as exc:
        return SessionResult(error=str(exc))
    try:
        return await _pump(channels, process, decoder, pending_sizes, attach=attach)
    finally:
        await process.close()


async def _pump(
    channels: CommandChannels,
    process: StreamingProcess,
    decoder: ResizeDecoder,
    pending_sizes: list[TerminalSize],
    *,
    attach: bool,
) -> SessionResult:
    for size in pending_sizes:
        await process.resize(size)
    detached = asyncio.Event()
    helpers = [asyncio.create_task(_pump_resizes(channels.resize, process, decoder))]
    if channels.stdin is not None:
        helpers.append(
            asyncio.create_task(_pump_stdin(channels.stdin, process, detached if attach else None))
        )
    outputs = asyncio.create_task(_pump_outputs(process, channels))
    watchers = [asyncio.create_task(_until(detached)), asyncio.create_task(_until(channels.client_gone))]
    try:
        await asyncio.wait([outputs, *watchers], return_when=asyncio.FIRST_COMPLETED)
        if not outputs.done():
            return SessionResult(exit_code=0)
        outputs.result()
        exit_code = await _wait_exit(process, channels.client_gone)
        return SessionResult(exit_code=0 if attach else exit_code)
    finally:
        outputs.cancel()
        for task in (*helpers, *watchers):
            task.cancel()
        await asyncio.gather(outputs, *helpers, *watchers, return_exceptions=True)


async def _until(event: asyncio.Event) -> None:
    await event.wait()


async def _pump_outputs(process: StreamingProcess, channels: CommandChannels) -> None:
    await asyncio.gather(
        _pump_output(process.read_stdout, channels.stdout),
        _pump_output(process.read_stderr, channels.stderr),
    )


async def _wait_exit(process: StreamingProcess, client_gone: asyncio.Event) -> int:
    exit_task = asyncio.create_task(process.wait())
    gone_task = asyncio.create_task(_until(client_gone))
    try:
        await asyncio.wait([exit_task, gone_task], return_when=asyncio.FIRST_COMPLETED)
        return exit_task.result() if exit_task.done() else 0
    finally:
        gone_task.cancel()
        exit_task.cancel()


async def _pump_output(read: Callable[[], Awaitable[bytes]], channel: OutputChannel | None) -> None:
    writable = channel is not None
    while data := await read():
        if channel is not None and writable:
            try:
                await channel.write(data)
            except ConnectionError:
                writable = False
    if channel is not None and writable:
        with contextlib.suppress(ConnectionError):
            await channel.close_write()


async def _pump_stdin(
    channel: InputChannel, process: StreamingProcess, detached: asyncio.Event | None
) -> None:
    while data := await channel.read():
        await process.write_stdin(data)
    if detached is not None:
        detached.set()  # an attach client half-closing stdin detaches; the container keeps its stdin
    else:
        await process.close_stdin()


async def _pump_resizes(
    channel: InputChannel | None, process: StreamingProcess, decoder: ResizeDecoder
) -> None:
    if channel is None:
        return
    while data := await channel.read():
        for size in decoder.feed(data):
            await process.resize(size)
