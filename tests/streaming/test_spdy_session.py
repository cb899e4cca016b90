"""SPDY sessions: PING, unknown streams, protocol errors, and flow control (only with peers that use it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cri.streaming.spdy.frames import (
    DataFrame,
    Frame,
    GoAway,
    GoAwayStatus,
    Ping,
    RstStatus,
    RstStream,
    Setting,
    SettingId,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from cri.streaming.spdy.session import SpdySession, SpdyStream

TIMEOUT = 10


class MemoryPeer:
    """The client side of an in-memory connection: sends frames, collects the server's."""

    def __init__(self) -> None:
        self.inbound: asyncio.Queue[bytes] = asyncio.Queue()
        self.writer = FrameWriter()
        self.parser = FrameParser()
        self.received: list[Frame] = []
        self.changed = asyncio.Condition()
        self.closed = False

    # ByteTransport, as seen by the server
    async def read(self) -> bytes:
        return await self.inbound.get()

    async def write(self, data: bytes) -> None:
        async with self.changed:
            self.received += self.parser.feed(data)
            self.changed.notify_all()

    async def close(self) -> None:
        self.closed = True
        self.inbound.put_nowait(b"")

    # client side
    def send(self, *frames: Frame) -> None:
        self.inbound.put_nowait(b"".join(self.writer.encode(frame) for frame in frames))

    def send_raw(self, data: bytes) -> None:
        self.inbound.put_nowait(data)

    async def wait_for(self, predicate: object) -> list[Frame]:
        assert callable(predicate)
        async with asyncio.timeout(TIMEOUT), self.changed:
            await self.changed.wait_for(lambda: predicate(self.received))
        return self.received


@pytest.fixture
async def session() -> AsyncIterator[tuple[SpdySession, MemoryPeer, list[SpdyStream]]]:
    peer = MemoryPeer()
    accepted: list[SpdyStream] = []

    def accept(stream: SpdyStream) -> bool:
        accepted.append(stream)
        return stream.header("streamtype") != "refuse"

    spdy = SpdySession(peer, accept=accept)
    runner = asyncio.create_task(spdy.run())
    yield spdy, peer, accepted
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner


def data_of(frames: list[Frame], stream_id: int) -> bytes:
    return b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == stream_id)


async def test_client_pings_are_echoed_and_streams_replied(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    _, peer, accepted = session
    peer.send(SynStream(stream_id=1, headers=(("streamtype", "error"),)), Ping(ping_id=1), Ping(ping_id=2))
    frames = await peer.wait_for(lambda fs: Ping(ping_id=1) in fs)
    assert frames[:2] == [SynReply(stream_id=1), Ping(ping_id=1)]
    assert accepted[0].header("streamtype") == "error"
    peer.send(Ping(ping_id=3))
    frames = await peer.wait_for(lambda fs: Ping(ping_id=3) in fs)
    assert Ping(ping_id=2) not in frames  # even ids answer server pings; never echoed


async def test_refused_and_unknown_streams_are_reset_and_the_session_continues(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    spdy, peer, _ = session
    peer.send(SynStream(stream_id=1, headers=(("streamtype", "refuse"),)), DataFrame(stream_id=41, data=b"x"))
    frames = await peer.wait_for(lambda fs: len(fs) >= 2)
    assert frames[:2] == [
        RstStream(stream_id=1, status=RstStatus.REFUSED_STREAM),
        RstStream(stream_id=41, status=RstStatus.INVALID_STREAM),
    ]
    assert not spdy.closed.is_set()


async def test_stream_ids_going_backwards_end_the_session_with_goaway(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    spdy, peer, _ = session
    peer.send(SynStream(stream_id=5, headers=()), SynStream(stream_id=3, headers=()))
    frames = await peer.wait_for(lambda fs: any(isinstance(f, GoAway) for f in fs))
    assert frames[-1] == GoAway(last_good_stream_id=5, status=GoAwayStatus.PROTOCOL_ERROR)
    async with asyncio.timeout(TIMEOUT):
        await spdy.closed.wait()
    assert spdy.protocol_error is not None and "stream id 3" in spdy.protocol_error


async def test_garbage_bytes_end_the_session_with_goaway(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    spdy, peer, _ = session
    peer.send_raw(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")  # a SPDY/2 PING
    await peer.wait_for(lambda fs: GoAway(last_good_stream_id=0, status=GoAwayStatus.PROTOCOL_ERROR) in fs)
    async with asyncio.timeout(TIMEOUT):
        await spdy.closed.wait()


async def test_client_data_and_half_close_reach_the_stream(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    _, peer, accepted = session
    peer.send(
        SynStream(stream_id=1, headers=(("streamtype", "stdin"),)),
        DataFrame(stream_id=1, data=b"hello "),
        DataFrame(stream_id=1, data=b"world", fin=True),
    )
    await peer.wait_for(lambda fs: SynReply(stream_id=1) in fs)
    stream = accepted[0]
    received = b""
    async with asyncio.timeout(TIMEOUT):
        while chunk := await stream.read():
            received += chunk
    assert received == b"hello world"
    assert await stream.read() == b""


async def test_without_flow_control_from_the_peer_writes_are_not_limited_to_the_window(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    """moby/spdystream (crictl, kubectl) never sends WINDOW_UPDATE; 64 KiB must not stall a session."""
    _, peer, accepted = session
    peer.send(SynStream(stream_id=1, headers=(("streamtype", "stdout"),)))
    await peer.wait_for(lambda fs: SynReply(stream_id=1) in fs)
    payload = bytes(range(256)) * 1024
    async with asyncio.timeout(TIMEOUT):
        await accepted[0].write(payload)
    assert data_of(peer.received, 1) == payload


async def test_with_flow_control_writes_wait_for_window_updates(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    _, peer, accepted = session
    peer.send(
        Settings(entries=(Setting(id=SettingId.INITIAL_WINDOW_SIZE, value=10),)),
        SynStream(stream_id=1, headers=(("streamtype", "stdout"),)),
    )
    await peer.wait_for(lambda fs: SynReply(stream_id=1) in fs)
    writing = asyncio.create_task(accepted[0].write(b"a" * 25))
    await peer.wait_for(lambda fs: len(data_of(fs, 1)) == 10)
    assert not writing.done()
    peer.send(WindowUpdate(stream_id=1, delta=15))
    async with asyncio.timeout(TIMEOUT):
        await writing
    assert data_of(peer.received, 1) == b"a" * 25


async def test_consumed_data_is_given_back_to_a_flow_controlling_peer(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    _, peer, accepted = session
    peer.send(
        WindowUpdate(stream_id=0, delta=1),
        SynStream(stream_id=1, headers=(("streamtype", "stdin"),)),
        DataFrame(stream_id=1, data=b"12345"),
    )
    await peer.wait_for(lambda fs: SynReply(stream_id=1) in fs)
    async with asyncio.timeout(TIMEOUT):
        assert await accepted[0].read() == b"12345"
    frames = await peer.wait_for(lambda fs: WindowUpdate(stream_id=0, delta=5) in fs)
    assert WindowUpdate(stream_id=1, delta=5) in frames


async def test_shutdown_resets_open_streams_then_says_goaway(
    session: tuple[SpdySession, MemoryPeer, list[SpdyStream]],
) -> None:
    spdy, peer, accepted = session
    peer.send(
        SynStream(stream_id=1, headers=(("streamtype", "error"),)),
        SynStream(stream_id=3, headers=(("streamtype", "stdout"),)),
    )
    await peer.wait_for(lambda fs: SynReply(stream_id=3) in fs)
    await accepted[1].close_write()
    await spdy.shutdown()
    assert peer.received[-2:] == [
        RstStream(stream_id=1, status=RstStatus.CANCEL),
        GoAway(last_good_stream_id=3),
    ]
    assert peer.closed


stream_ids = st.integers(min_value=1, max_value=12)
frame_strategy = st.one_of(
    st.builds(
        lambda i, fin: SynStream(stream_id=i, headers=(("streamtype", "x"),), fin=fin),
        stream_ids,
        st.booleans(),
    ),
    st.builds(
        lambda i, d, fin: DataFrame(stream_id=i, data=d, fin=fin),
        stream_ids,
        st.binary(max_size=64),
        st.booleans(),
    ),
    st.builds(lambda i: RstStream(stream_id=i, status=RstStatus.CANCEL), stream_ids),
    st.builds(lambda i, d: WindowUpdate(stream_id=i, delta=d), st.integers(0, 12), st.integers(1, 2**31 - 1)),
    st.builds(lambda i: Ping(ping_id=i), st.integers(0, 2**32 - 1)),
    st.builds(lambda i: SynReply(stream_id=i), stream_ids),
    st.just(GoAway(last_good_stream_id=0)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(frame_strategy, max_size=15))  # < INBOX_CHUNKS: no reader here to drain a stream
async def test_any_frame_sequence_is_handled_or_refused_cleanly(frames: list[Frame]) -> None:
    peer = MemoryPeer()
    spdy = SpdySession(peer, accept=lambda stream: True)
    peer.send(*frames)
    peer.inbound.put_nowait(b"")
    async with asyncio.timeout(TIMEOUT):
        await spdy.run()  # returns (never raises) whatever the peer sent
    assert spdy.closed.is_set()
    goaways = [f for f in peer.received if isinstance(f, GoAway)]
    assert len(goaways) <= 1
    assert (spdy.protocol_error is None) == (not goaways)
