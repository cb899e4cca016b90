"""SPDY/3.1 framing: every frame type both ways, the recorded crictl bytes, and hostile input."""

from __future__ import annotations

import contextlib
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cri.streaming.spdy.dictionary import SPDY3_DICTIONARY
from cri.streaming.spdy.frames import (
    DataFrame,
    Frame,
    GoAway,
    Headers,
    Ping,
    RstStream,
    Setting,
    Settings,
    SpdyProtocolError,
    SynReply,
    SynStream,
    WindowUpdate,
    control_frame,
    encode_header_block,
)
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from tests.streaming.replay import recorded_spdy
from tests.streaming.wire import load_capture

ALL_FRAMES: list[Frame] = [
    SynStream(stream_id=1, headers=(("streamtype", "error"),)),
    SynStream(stream_id=3, headers=(("streamtype", "data"), ("port", "80")), priority=3, fin=True),
    SynReply(stream_id=1),
    SynReply(stream_id=5, headers=(("a", "b"),), fin=True),
    Headers(stream_id=7, headers=(("x", "y\x00z"),)),
    DataFrame(stream_id=3, data=b"out\n"),
    DataFrame(stream_id=3, data=b"", fin=True),
    RstStream(stream_id=9, status=5),
    Settings(entries=(Setting(id=7, value=1 << 20), Setting(id=4, value=100, flags=1))),
    Ping(ping_id=1),
    GoAway(last_good_stream_id=7, status=0),
    WindowUpdate(stream_id=0, delta=65536),
]


def parse_bytewise(data: bytes) -> list[Frame]:
    parser = FrameParser()
    frames: list[Frame] = []
    for index in range(len(data)):
        frames += parser.feed(data[index : index + 1])
    assert parser.buffered == 0
    return frames


def test_every_frame_type_round_trips_when_fed_one_byte_at_a_time() -> None:
    writer = FrameWriter()
    wire = b"".join(writer.encode(frame) for frame in ALL_FRAMES)
    assert parse_bytewise(wire) == ALL_FRAMES


def test_header_blocks_use_the_spdy3_dictionary() -> None:
    assert zlib.adler32(SPDY3_DICTIONARY) == 0xE3C6A7C2
    frame = FrameWriter().encode(SynReply(stream_id=1))
    block = frame[12:]
    assert block[0] == 0x78 and block[1] & 0x20  # zlib header with FDICT set
    assert block[2:6] == bytes.fromhex("e3c6a7c2")  # DICTID, as in the recordings


def test_crictl_and_containerd_frames_decode() -> None:
    capture = load_capture("exec-spdy-tty")
    client = recorded_spdy(capture, "c2s")
    assert [f.headers for f in client if isinstance(f, SynStream)] == [
        (("streamtype", kind),) for kind in ("error", "stdin", "stdout", "resize")
    ]
    assert DataFrame(stream_id=7, data=b'{"Width":101,"Height":37}\n') in client
    server = recorded_spdy(capture, "s2c")
    assert Ping(ping_id=1) in server


def test_a_truncated_frame_waits_for_more_bytes() -> None:
    wire = FrameWriter().encode(DataFrame(stream_id=1, data=b"hello"))
    parser = FrameParser()
    assert parser.feed(wire[:-1]) == []
    assert parser.feed(wire[-1:]) == [DataFrame(stream_id=1, data=b"hello")]


def test_unknown_control_frames_are_skipped() -> None:
    noop = control_frame(5, 0, b"")  # type: ignore[arg-type]
    credential = control_frame(10, 0, b"\x00" * 20)  # type: ignore[arg-type]
    ping = FrameWriter().encode(Ping(ping_id=3))
    assert FrameParser().feed(noop * 5000 + credential + ping) == [Ping(ping_id=3)]


def header_frame(frame_type: int, flags: int, payload: bytes, version: int = 3) -> bytes:
    return struct.pack(">HHI", 0x8000 | version, frame_type, (flags << 24) | len(payload)) + payload


def compressed(block: bytes) -> bytes:
    compressor = zlib.compressobj(zdict=SPDY3_DICTIONARY)
    return compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)


HOSTILE = {
    "unsupported SPDY version 2": header_frame(6, 0, b"\x00\x00\x00\x01", version=2),
    "exceeds the limit": struct.pack(">II", 1, 0xFFFFFF),
    "RST_STREAM frame must be 8 bytes": header_frame(3, 0, b"\x00\x00\x00\x01"),
    "PING frame must be 4 bytes": header_frame(6, 0, b"\x00" * 5),
    "SYN_STREAM on stream 0": header_frame(1, 0, b"\x00" * 10 + compressed(encode_header_block(()))),
    "shorter than 10": header_frame(1, 0, b"\x00\x00\x00\x01"),
    "not valid zlib": header_frame(2, 0, b"\x00\x00\x00\x01" + b"garbage!"),
    "inflates past": header_frame(2, 0, b"\x00\x00\x00\x01" + compressed(b"\x00" * 10_000_000)),
    "claims 4294967295 pairs": header_frame(2, 0, b"\x00\x00\x00\x01" + compressed(b"\xff\xff\xff\xff")),
    "runs past the header block": header_frame(
        2, 0, b"\x00\x00\x00\x01" + compressed(b"\x00\x00\x00\x01\x00\x00\x10\x00abc")
    ),
    "SETTINGS claims 1000": header_frame(4, 0, struct.pack(">I", 1000)),
    "WINDOW_UPDATE with a delta of 0": header_frame(9, 0, struct.pack(">II", 1, 0)),
}


@pytest.mark.parametrize("problem", HOSTILE)
def test_hostile_input_is_a_protocol_error(problem: str) -> None:
    with pytest.raises(SpdyProtocolError, match=problem):
        FrameParser().feed(HOSTILE[problem])


def test_a_decompression_bomb_is_stopped_at_the_limit_not_inflated() -> None:
    bomb = compressed(b"\x00" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(SpdyProtocolError, match="inflates past 65536 bytes"):
        FrameParser().feed(header_frame(2, 0, b"\x00\x00\x00\x01" + bomb))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.integers(min_value=1, max_value=64))
def test_random_bytes_raise_only_protocol_errors(data: bytes, chunk: int) -> None:
    parser = FrameParser()
    try:
        for index in range(0, len(data), chunk):
            parser.feed(data[index : index + chunk])
    except SpdyProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_random_header_blocks_raise_only_protocol_errors(block: bytes) -> None:
    with contextlib.suppress(SpdyProtocolError):
        FrameParser().feed(header_frame(2, 0, b"\x00\x00\x00\x01" + compressed(block)))
