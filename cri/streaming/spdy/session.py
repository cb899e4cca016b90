"""A server-side SPDY/3.1 session: streams opened by the client, flow control, PING, GOAWAY.

Flow control: the session always tracks both send windows (per stream and for the session,
SPDY/3.1) but enforces them only once the peer shows that it speaks flow control (it sends a
WINDOW_UPDATE or an INITIAL_WINDOW_SIZE setting). Kubernetes clients (moby/spdystream) never
send WINDOW_UPDATE, so enforcing the 64 KiB default against them would stall every session.
Incoming data is bounded by TCP back-pressure: a stream's reader that does not keep up stops
the session from reading the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from cri.streaming.spdy.frames import (
    DEFAULT_WINDOW,
    MAX_WINDOW,
    DataFrame,
    Frame,
    GoAway,
    GoAwayStatus,
    HeaderList,
    Headers,
    Ping,
    RstStatus,
    RstStream,
    SettingId,
    Settings,
    SpdyProtocolError,
    SynReply,
    SynStream,
    WindowUpdate,
)
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from cri.streaming.transport import ByteTransport

log = logging.getLogger(__name__)

MAX_DATA_CHUNK = 32 * 1024
INBOX_CHUNKS = 16
MAX_STREAMS = 1000


class SpdyStream:
    """One stream: read what the peer sends on it, write what the peer should get."""

    def __init__(
        self, session: SpdySession, stream_id: int, headers: HeaderList, *, remote_closed: bool
    ) -> None:
        self.session = session
        self.stream_id = stream_id
        self.headers = headers
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._drained = asyncio.Event()
        self.remote_closed = remote_closed
        self._eof_queued = False
        self.local_closed = False
        self.send_window = session.initial_send_window
        self._window_open = asyncio.Event()
        self._window_open.set()
        if remote_closed:
            self._remote_done()

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)

    async def read(self) -> bytes:
        """The next data from the client; b"" once it half-closed or reset the stream."""
        data = await self._inbox.get()
        if not data:
            self._inbox.put_nowait(b"")
            return data
        if self._inbox.qsize() < INBOX_CHUNKS // 2:
            self._drained.set()
        await self.session.consumed(self, len(data))
        return data

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.local_closed:
            await self.session.wait_send_window(self)
            size = min(len(view), MAX_DATA_CHUNK, self.session.usable_window(self))
            await self.session.send(DataFrame(stream_id=self.stream_id, data=bytes(view[:size])))
            self.session.spent(self, size)
            view = view[size:]
        if view:
            raise ConnectionResetError(f"stream {self.stream_id} is closed")

    async def close_write(self) -> None:
        """Half-close: an empty DATA frame with FIN."""
        if not self.local_closed:
            self.local_closed = True
            self.session.stream_closed_locally(self)
            await self.session.send(DataFrame(stream_id=self.stream_id, data=b"", fin=True))

    async def reset(self, status: RstStatus = RstStatus.CANCEL) -> None:
        if not (self.local_closed and self.remote_closed):
            self.local_closed = True
            self._remote_done()
            self.session.stream_closed_locally(self)
            await self.session.send(RstStream(stream_id=self.stream_id, status=status))

    def _receive(self, data: bytes, *, fin: bool) -> None:
        if data:
            self._inbox.put_nowait(data)
        if fin:
            self._remote_done()

    async def _wait_drained(self) -> None:
        """Hold the session's reader while this stream's consumer is behind."""
        while self._inbox.qsize() >= INBOX_CHUNKS and not self.local_closed:
            self._drained.clear()
            await self._drained.wait()

    def _remote_done(self) -> None:
        if not self._eof_queued:
            self._eof_queued = True
            self._inbox.put_nowait(b"")
        self.remote_closed = True
        self._drained.set()
        self._window_open.set()


StreamAcceptor = Callable[[SpdyStream], bool]


class SpdySession:
    """Runs the frame loop; new streams are handed to ``accept`` (False refuses them)."""

    def __init__(self, transport: ByteTransport, *, accept: StreamAcceptor, client: bool = False) -> None:
        """``client=True``: this side opens streams (odd ids) with ``open_stream``."""
        self._transport = transport
        self._accept = accept
        self._client = client
        self._next_stream_id = 1
        self._replies: dict[int, asyncio.Event] = {}
        self._parser = FrameParser()
        self._writer = FrameWriter()
        self._write_lock = asyncio.Lock()
        self._streams: dict[int, SpdyStream] = {}
        self._last_stream_id = 0
        self._peer_flow_control = False
        self.initial_send_window = DEFAULT_WINDOW
        self._session_send_window = DEFAULT_WINDOW
        self._session_window_open = asyncio.Event()
        self._session_window_open.set()
        self.closed = asyncio.Event()
        self.goaway_received = asyncio.Event()
        self._goaway_sent = False
        self.protocol_error: str | None = None

    async def run(self) -> None:
        """Read frames until the peer goes away or breaks the protocol."""
        try:
            while chunk := await self._transport.read():
                for frame in self._parser.feed(chunk):
                    await self._handle(frame)
        except SpdyProtocolError as exc:
            self.protocol_error = str(exc)
            log.warning("closing SPDY session: %s", exc)
            with contextlib.suppress(ConnectionError):
                await self.send(
                    GoAway(last_good_stream_id=self._last_stream_id, status=GoAwayStatus.PROTOCOL_ERROR)
                )
        except ConnectionError:
            pass
        finally:
            self._mark_closed()

    async def send(self, frame: Frame) -> None:
        self._goaway_sent = self._goaway_sent or isinstance(frame, GoAway)
        async with self._write_lock:
            if self.closed.is_set() and not isinstance(frame, GoAway):
                raise ConnectionResetError("the SPDY session is closed")
            await self._transport.write(self._writer.encode(frame))

    async def shutdown(self) -> None:
        """Reset the streams we have not finished, say GOAWAY and close the connection."""
        for stream in list(self._streams.values()):
            if not stream.local_closed:
                with contextlib.suppress(ConnectionError):
                    await stream.reset(RstStatus.CANCEL)
        if not self._goaway_sent:
            with contextlib.suppress(ConnectionError):
                await self.send(GoAway(last_good_stream_id=self._last_stream_id))
        await self._transport.close()
        self._mark_closed()

    def _mark_closed(self) -> None:
        self.closed.set()
        for stream in self._streams.values():
            stream._remote_done()
        self._session_window_open.set()

    async def _handle(self, frame: Frame) -> None:
        match frame:
            case SynStream():
                await self._open_stream(frame)
            case DataFrame():
                await self._data(frame)
            case Ping():
                if frame.ping_id % 2 == (0 if self._client else 1):  # the peer's ping, not an answer to ours
                    await self.send(frame)
            case RstStream():
                if (waiting := self._replies.pop(frame.stream_id, None)) is not None:
                    waiting.set()
                stream = self._streams.pop(frame.stream_id, None)
                if stream is not None:
                    stream.local_closed = True
                    stream._remote_done()
            case WindowUpdate():
                self._window_update(frame)
            case Settings():
                self._settings(frame)
            case Headers():
                if frame.stream_id not in self._streams:
                    await self.send(RstStream(stream_id=frame.stream_id, status=RstStatus.INVALID_STREAM))
            case GoAway():
                self.goaway_received.set()
            case SynReply():
                self._replied(frame)

    async def open_stream(self, headers: HeaderList, *, timeout: float = 30.0) -> SpdyStream:
        """Client side: SYN_STREAM, then wait for the SYN_REPLY."""
        stream_id, self._next_stream_id = self._next_stream_id, self._next_stream_id + 2
        stream = SpdyStream(self, stream_id, headers, remote_closed=False)
        self._streams[stream_id] = stream
        replied = self._replies[stream_id] = asyncio.Event()
        await self.send(SynStream(stream_id=stream_id, headers=headers))
        waiters = [asyncio.create_task(replied.wait()), asyncio.create_task(self.closed.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not replied.is_set() or stream_id not in self._streams:
            raise ConnectionResetError(f"stream {stream_id} was refused or the session ended")
        return stream

    def _replied(self, frame: SynReply) -> None:
        replied = self._replies.pop(frame.stream_id, None)
        if replied is None:
            raise SpdyProtocolError(f"SYN_REPLY for stream {frame.stream_id}, which this side never opened")
        replied.set()
        if frame.fin and frame.stream_id in self._streams:
            self._streams[frame.stream_id]._remote_done()

    async def _open_stream(self, frame: SynStream) -> None:
        stream_id = frame.stream_id
        if self._client:
            await self.send(RstStream(stream_id=stream_id, status=RstStatus.REFUSED_STREAM))
            return
        if stream_id % 2 == 0 or stream_id <= self._last_stream_id:
            raise SpdyProtocolError(f"SYN_STREAM with stream id {stream_id} after {self._last_stream_id}")
        self._last_stream_id = stream_id
        if len(self._streams) >= MAX_STREAMS:
            await self.send(RstStream(stream_id=stream_id, status=RstStatus.REFUSED_STREAM))
            return
        stream = SpdyStream(self, stream_id, frame.headers, remote_closed=frame.fin)
        if not self._accept(stream):
            await self.send(RstStream(stream_id=stream_id, status=RstStatus.REFUSED_STREAM))
            return
        self._streams[stream_id] = stream
        await self.send(SynReply(stream_id=stream_id))

    async def _data(self, frame: DataFrame) -> None:
        stream = self._streams.get(frame.stream_id)
        if stream is None or stream.remote_closed:
            await self.send(RstStream(stream_id=frame.stream_id, status=RstStatus.INVALID_STREAM))
            return
        stream._receive(frame.data, fin=frame.fin)
        self._forget_if_done(stream)
        await stream._wait_drained()

    def _forget_if_done(self, stream: SpdyStream) -> None:
        if stream.remote_closed and stream.local_closed:
            self._streams.pop(stream.stream_id, None)

    def _window_update(self, frame: WindowUpdate) -> None:
        self._peer_flow_control = True
        if frame.stream_id == 0:
            self._session_send_window = _grow(self._session_send_window, frame.delta, "the session")
            self._session_window_open.set()
            return
        stream = self._streams.get(frame.stream_id)
        if stream is not None:
            stream.send_window = _grow(stream.send_window, frame.delta, f"stream {frame.stream_id}")
            stream._window_open.set()

    def _settings(self, frame: Settings) -> None:
        for entry in frame.entries:
            if entry.id == SettingId.INITIAL_WINDOW_SIZE:
                if entry.value > MAX_WINDOW:
                    raise SpdyProtocolError(f"INITIAL_WINDOW_SIZE {entry.value} exceeds {MAX_WINDOW}")
                self._peer_flow_control = True
                delta = entry.value - self.initial_send_window
                self.initial_send_window = entry.value
                for stream in self._streams.values():
                    stream.send_window += delta
                    if stream.send_window > 0:
                        stream._window_open.set()

    async def wait_send_window(self, stream: SpdyStream) -> None:
        if not self._peer_flow_control:
            return
        while stream.send_window <= 0 and not stream.local_closed:
            stream._window_open.clear()
            await stream._window_open.wait()
        while self._session_send_window <= 0 and not self.closed.is_set():
            self._session_window_open.clear()
            await self._session_window_open.wait()

    def usable_window(self, stream: SpdyStream) -> int:
        if not self._peer_flow_control:
            return MAX_DATA_CHUNK
        return max(1, min(stream.send_window, self._session_send_window))

    def spent(self, stream: SpdyStream, size: int) -> None:
        stream.send_window -= size
        self._session_send_window -= size

    async def consumed(self, stream: SpdyStream, size: int) -> None:
        """Give a flow-controlling peer its window back once we took data off a stream."""
        if self._peer_flow_control and not self.closed.is_set():
            with contextlib.suppress(ConnectionError):
                await self.send(WindowUpdate(stream_id=stream.stream_id, delta=size))
                await self.send(WindowUpdate(stream_id=0, delta=size))

    def stream_closed_locally(self, stream: SpdyStream) -> None:
        self._forget_if_done(stream)


def _grow(window: int, delta: int, what: str) -> int:
    grown = window + delta
    if grown > MAX_WINDOW:
        raise SpdyProtocolError(f"WINDOW_UPDATE overflows the send window of {what}")
    return grown
