"""Exec and attach over SPDY/3.1: one client-opened stream per channel."""

from __future__ import annotations

import asyncio
import contextlib

from cri.streaming.negotiation import ChannelProtocol
from cri.streaming.remotecommand import CommandChannels, ProcessStarter, run_command
from cri.streaming.spdy.session import SpdySession, SpdyStream
from cri.streaming.status import SessionResult, legacy_error_text, status_for
from cri.streaming.transport import ByteTransport

STREAM_CREATION_TIMEOUT_SECONDS = 30.0


class _StreamCollector:
    """Accepts the channel streams this session expects, each type once."""

    def __init__(self, expected: set[str], optional: set[str]) -> None:
        self._expected = expected
        self._optional = optional
        self.streams: dict[str, SpdyStream] = {}
        self.complete = asyncio.Event()
        if not expected:
            self.complete.set()

    def accept(self, stream: SpdyStream) -> bool:
        kind = (stream.header("streamtype") or "").lower()
        if kind in self.streams or kind not in self._expected | self._optional:
            return False
        self.streams[kind] = stream
        if self._expected <= self.streams.keys():
            self.complete.set()
        return True


def expected_streams(
    *, tty: bool, stdin: bool, stdout: bool, stderr: bool, protocol: ChannelProtocol
) -> set[str]:
    kinds = {"error"}
    kinds |= {"stdin"} if stdin else set()
    kinds |= {"stdout"} if stdout else set()
    kinds |= {"stderr"} if stderr and not tty else set()
    kinds |= {"resize"} if tty and protocol.has_resize else set()
    return kinds


async def serve_spdy_command(
    transport: ByteTransport,
    *,
    protocol: ChannelProtocol,
    expected: set[str],
    start: ProcessStarter,
    tty: bool,
    attach: bool,
    cmd: tuple[str, ...],
) -> None:
    collector = _StreamCollector(expected, {"resize"} if tty else set())
    session = SpdySession(transport, accept=collector.accept)
    reader = asyncio.create_task(session.run())
    try:
        if not await _streams_ready(collector, session):
            return
        streams = collector.streams
        channels = CommandChannels(
            stdin=streams.get("stdin"),
            stdout=streams.get("stdout"),
            stderr=streams.get("stderr"),
            resize=streams.get("resize"),
            client_gone=session.closed,
        )
        result = await run_command(channels, start, tty=tty, attach=attach)
        await _report(streams["error"], protocol, cmd, result)
    finally:
        await session.shutdown()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _streams_ready(collector: _StreamCollector, session: SpdySession) -> bool:
    closed = asyncio.create_task(session.closed.wait())
    complete = asyncio.create_task(collector.complete.wait())
    try:
        await asyncio.wait(
            [closed, complete], timeout=STREAM_CREATION_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        closed.cancel()
        complete.cancel()
    return collector.complete.is_set() and not session.closed.is_set()


async def _report(
    error: SpdyStream, protocol: ChannelProtocol, cmd: tuple[str, ...], result: SessionResult
) -> None:
    message = status_for(cmd, result) if protocol.status_json else legacy_error_text(cmd, result)
    if message:
        with contextlib.suppress(ConnectionError):
            await error.write(message)
