"""Exec, attach and port-forward over SPDY/3.1, as client-go's SPDY executor speaks it.

The client upgrades ``POST <url>`` to SPDY/3.1, then opens one stream per channel itself (odd ids,
each after the previous SYN_REPLY), with the channel in the ``streamtype`` header. The server ends
the session with a ``metav1.Status`` on the error stream. Frames are read and written with the
codec of ``cri.streaming.spdy`` (the server's); this module is the client's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from urllib.parse import urlsplit

from cri.crictl.session import CommandError, Session
from cri.crictl.stream_client import (
    DetachFilter,
    StreamOptions,
    StreamOutcome,
    outcome_of_status,
    resize_message,
    stdin_chunks,
    watch_resizes,
)
from cri.streaming.spdy.frames import (
    DataFrame,
    Frame,
    GoAway,
    HeaderList,
    Ping,
    RstStream,
    SpdyProtocolError,
    SynReply,
    SynStream,
    WindowUpdate,
)
from cri.streaming.spdy.parser import FrameParser, FrameWriter

CHANNEL_PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
)
PORT_FORWARD_PROTOCOL = "portforward.k8s.io"
PING_INTERVAL = 5.0
REPLY_TIMEOUT = 30.0
MAX_DATA = 32 * 1024
Sink = Callable[[bytes], None]


class SpdyConnection:
    """One upgraded connection: streams we open, data routed to their sinks, pings answered."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: str) -> None:
        self.protocol = protocol
        self._reader, self._writer = reader, writer
        self._out = FrameWriter()
        self._frames = FrameParser()
        self._ids = itertools.count(1, 2)
        self._replies: dict[int, asyncio.Future[None]] = {}
        self._sinks: dict[int, Sink] = {}
        self._finished: dict[int, asyncio.Event] = {}
        self.closed = asyncio.Event()
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._ping())]

    @classmethod
    async def upgrade(cls, url: str, protocols: tuple[str, ...]) -> SpdyConnection:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise CommandError(f"unsupported streaming URL {url!r}: expected http://host:port/...")
        port = parts.port or 80
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, port)
        except OSError as exc:
            raise CommandError(f"error dialing backend: {exc.strerror or exc}") from None
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "User-Agent: tinykube-crictl",
            "Content-Length: 0",
            "Connection: Upgrade",
            "Upgrade: SPDY/3.1",
        ]
        lines += [f"X-Stream-Protocol-Version: {protocol}" for protocol in protocols]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        return cls(reader, writer, await _read_upgrade(reader, writer))

    def _write(self, frame: Frame) -> None:
        self._writer.write(self._out.encode(frame))

    async def open_stream(self, headers: HeaderList, sink: Sink) -> int:
        stream_id = next(self._ids)
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies[stream_id], self._sinks[stream_id] = reply, sink
        self._finished[stream_id] = asyncio.Event()
        self._write(SynStream(stream_id=stream_id, headers=headers))
        await self._writer.drain()
        try:
            await asyncio.wait_for(reply, REPLY_TIMEOUT)
        except TimeoutError:
            raise CommandError(
                f"timed out waiting for the streaming server to accept {dict(headers)}"
            ) from None
        return stream_id

    async def send(self, stream_id: int, payload: bytes, *, fin: bool = False) -> None:
        for start in range(0, max(len(payload), 1), MAX_DATA):
            chunk = payload[start : start + MAX_DATA]
            last = start + MAX_DATA >= len(payload)
            self._write(DataFrame(stream_id=stream_id, data=chunk, fin=fin and last))
        await self._writer.drain()

    async def finished(self, stream_id: int) -> None:
        """Until the server ends ``stream_id`` (FIN or reset) or the connection."""
        done = asyncio.create_task(self._finished[stream_id].wait())
        gone = asyncio.create_task(self.closed.wait())
        await asyncio.wait({done, gone}, return_when=asyncio.FIRST_COMPLETED)
        for task in (done, gone):
            task.cancel()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._write(GoAway(last_good_stream_id=0))
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def _read(self) -> None:
        try:
            while chunk := await self._reader.read(64 * 1024):
                for frame in self._frames.feed(chunk):
                    self._dispatch(frame)
        except (ConnectionError, SpdyProtocolError):
            pass
        finally:
            self.closed.set()
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(CommandError("the streaming server closed the connection"))

    def _dispatch(self, frame: Frame) -> None:
        match frame:
            case DataFrame():
                self._sinks.get(frame.stream_id, _discard)(frame.data)
                if frame.data:  # the window back, for servers that do flow control
                    self._write(WindowUpdate(stream_id=frame.stream_id, delta=len(frame.data)))
                    self._write(WindowUpdate(stream_id=0, delta=len(frame.data)))
                if frame.fin:
                    self._end(frame.stream_id)
            case SynReply():
                reply = self._replies.get(frame.stream_id)
                if reply is not None and not reply.done():
                    reply.set_result(None)
            case RstStream():
                reply = self._replies.get(frame.stream_id)
                if reply is not None and not reply.done():
                    reply.set_exception(CommandError(f"the streaming server reset stream {frame.stream_id}"))
                self._end(frame.stream_id)
            case Ping() if frame.ping_id % 2 == 0:
                self._write(Ping(ping_id=frame.ping_id))
            case GoAway():
                self.closed.set()

    def _end(self, stream_id: int) -> None:
        event = self._finished.get(stream_id)
        if event is not None:
            event.set()

    async def _ping(self) -> None:
        for ping_id in itertools.count(1, 2):
            await asyncio.sleep(PING_INTERVAL)
            self._write(Ping(ping_id=ping_id))
            await self._writer.drain()


def _discard(_: bytes) -> None:
    return None


async def _read_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REPLY_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        writer.close()
        raise CommandError("unable to upgrade connection: no answer from the streaming server") from None
    status_line, *header_lines = head.decode(errors="replace").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status_line.split(" ")[1:2] != ["101"]:
        body = b""
        length = int(headers.get("content-length", "0") or 0)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            body = await asyncio.wait_for(reader.readexactly(length), REPLY_TIMEOUT) if length else b""
        writer.close()
        reason = body.decode(errors="replace").strip() or status_line.partition(" ")[2]
        raise CommandError(f"unable to upgrade connection: {reason}")
    return headers.get("x-stream-protocol-version", "")


async def run_spdy(session: Session, url: str, options: StreamOptions) -> StreamOutcome:
    connection = await SpdyConnection.upgrade(url, CHANNEL_PROTOCOLS)
    helpers: list[asyncio.Task[None]] = []
    try:
        status = bytearray()
        error_stream = await connection.open_stream((("streamtype", "error"),), status.extend)
        if options.stdin:
            stdin_stream = await connection.open_stream((("streamtype", "stdin"),), _discard)
            helpers.append(asyncio.create_task(_pump_stdin(session, connection, stdin_stream, options)))
        await connection.open_stream((("streamtype", "stdout"),), lambda d: session.write_stream("stdout", d))
        if not options.tty:
            await connection.open_stream(
                (("streamtype", "stderr"),), lambda d: session.write_stream("stderr", d)
            )
        else:
            resize_stream = await connection.open_stream((("streamtype", "resize"),), _discard)
            helpers.append(asyncio.create_task(_pump_resizes(session, connection, resize_stream)))
        await connection.finished(error_stream)
        return outcome_of_status(bytes(status)) if status else StreamOutcome(error=None)
    finally:
        for helper in helpers:
            helper.cancel()
        await connection.close()


async def _pump_stdin(
    session: Session, connection: SpdyConnection, stream_id: int, options: StreamOptions
) -> None:
    detach = DetachFilter() if options.detach_keys and options.tty else None
    async for chunk in stdin_chunks(session):
        detached = False
        if detach is not None:
            chunk, detached = detach.feed(chunk)
        if chunk:
            await connection.send(stream_id, chunk)
        if detached:
            break
    await connection.send(stream_id, b"", fin=True)


async def _pump_resizes(session: Session, connection: SpdyConnection, stream_id: int) -> None:
    sizes = watch_resizes(session)
    while True:
        await connection.send(stream_id, resize_message(await sizes.get()) + b"\n")
