"""Reading and writing SPDY/3.1 frames on a byte stream that arrives in arbitrary pieces."""

from __future__ import annotations

import struct
from collections.abc import Callable

from cri.streaming.spdy.frames import (
    FLAG_FIN,
    FLAG_UNIDIRECTIONAL,
    MAX_STREAM_ID,
    SPDY_VERSION,
    DataFrame,
    Frame,
    FrameType,
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
    data_frame,
)
from cri.streaming.spdy.headers import DEFAULT_MAX_HEADER_BLOCK, HeaderCompressor, HeaderDecompressor

HEADER_SIZE = 8
DEFAULT_MAX_FRAME = 1024 * 1024
MAX_SETTINGS = 64


class FrameParser:
    """Feed bytes in; get whole frames out. Raises SpdyProtocolError on anything malformed."""

    def __init__(
        self, *, max_frame_size: int = DEFAULT_MAX_FRAME, max_header_block: int = DEFAULT_MAX_HEADER_BLOCK
    ) -> None:
        self._buffer = bytearray()
        self._max_frame_size = max_frame_size
        self._headers = HeaderDecompressor(max_block_size=max_header_block)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while (frame := self._next_frame()) is not None:
            frames.append(frame)
        return frames

    def _next_frame(self) -> Frame | None:
        while (frame := self._next_frame_or_skip()) is _SKIPPED:
            pass
        return frame  # type: ignore[return-value]

    def _next_frame_or_skip(self) -> Frame | object | None:
        if len(self._buffer) < HEADER_SIZE:
            return None
        first, flags_and_length = struct.unpack_from(">II", self._buffer)
        flags, length = flags_and_length >> 24, flags_and_length & 0xFFFFFF
        if length > self._max_frame_size:
            raise SpdyProtocolError(f"frame length {length} exceeds the limit of {self._max_frame_size}")
        if len(self._buffer) < HEADER_SIZE + length:
            return None
        payload = bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + length])
        del self._buffer[: HEADER_SIZE + length]
        if first & 0x80000000:
            return self._control(first, flags, payload)
        return DataFrame(stream_id=first & MAX_STREAM_ID, data=payload, fin=bool(flags & FLAG_FIN))

    def _control(self, first: int, flags: int, payload: bytes) -> Frame | object:
        version, frame_type = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != SPDY_VERSION:
            raise SpdyProtocolError(f"unsupported SPDY version {version}")
        decode = _DECODERS.get(frame_type)
        if decode is None:
            return _SKIPPED  # unknown control frames are ignored (draft 3, 2.2.1)
        return decode(self, flags, payload)

    def _syn_stream(self, flags: int, payload: bytes) -> Frame:
        _need(payload, 10, "SYN_STREAM")
        stream_id, associated, priority_byte = struct.unpack_from(">IIB", payload)
        return SynStream(
            stream_id=_stream_id(stream_id, "SYN_STREAM"),
            associated_stream_id=associated & MAX_STREAM_ID,
            priority=priority_byte >> 5,
            headers=self._headers.decompress(payload[10:]),
            fin=bool(flags & FLAG_FIN),
            unidirectional=bool(flags & FLAG_UNIDIRECTIONAL),
        )

    def _syn_reply(self, flags: int, payload: bytes) -> Frame:
        _need(payload, 4, "SYN_REPLY")
        (stream_id,) = struct.unpack_from(">I", payload)
        headers = self._headers.decompress(payload[4:])
        return SynReply(
            stream_id=_stream_id(stream_id, "SYN_REPLY"), headers=headers, fin=bool(flags & FLAG_FIN)
        )

    def _headers_frame(self, flags: int, payload: bytes) -> Frame:
        _need(payload, 4, "HEADERS")
        (stream_id,) = struct.unpack_from(">I", payload)
        headers = self._headers.decompress(payload[4:])
        return Headers(
            stream_id=_stream_id(stream_id, "HEADERS"), headers=headers, fin=bool(flags & FLAG_FIN)
        )

    def _rst_stream(self, flags: int, payload: bytes) -> Frame:
        _exact(payload, 8, "RST_STREAM")
        stream_id, status = struct.unpack(">II", payload)
        return RstStream(stream_id=_stream_id(stream_id, "RST_STREAM"), status=status)

    def _settings(self, flags: int, payload: bytes) -> Frame:
        _need(payload, 4, "SETTINGS")
        (count,) = struct.unpack_from(">I", payload)
        if count > MAX_SETTINGS or len(payload) != 4 + 8 * count:
            raise SpdyProtocolError(f"SETTINGS claims {count} entries in {len(payload)} bytes")
        entries = []
        for index in range(count):
            flags_and_id, value = struct.unpack_from(">II", payload, 4 + 8 * index)
            entries.append(Setting(id=flags_and_id & 0xFFFFFF, value=value, flags=flags_and_id >> 24))
        return Settings(entries=tuple(entries), clear=bool(flags & 0x01))

    def _ping(self, flags: int, payload: bytes) -> Frame:
        _exact(payload, 4, "PING")
        (ping_id,) = struct.unpack(">I", payload)
        return Ping(ping_id=ping_id)

    def _goaway(self, flags: int, payload: bytes) -> Frame:
        _exact(payload, 8, "GOAWAY")
        last_good, status = struct.unpack(">II", payload)
        return GoAway(last_good_stream_id=last_good & MAX_STREAM_ID, status=status)

    def _window_update(self, flags: int, payload: bytes) -> Frame:
        _exact(payload, 8, "WINDOW_UPDATE")
        stream_id, delta = struct.unpack(">II", payload)
        delta &= 0x7FFFFFFF
        if delta == 0:
            raise SpdyProtocolError("WINDOW_UPDATE with a delta of 0")
        return WindowUpdate(stream_id=stream_id & MAX_STREAM_ID, delta=delta)


_SKIPPED = object()

_DECODERS: dict[int, Callable[[FrameParser, int, bytes], Frame]] = {
    FrameType.SYN_STREAM: FrameParser._syn_stream,
    FrameType.SYN_REPLY: FrameParser._syn_reply,
    FrameType.RST_STREAM: FrameParser._rst_stream,
    FrameType.SETTINGS: FrameParser._settings,
    FrameType.PING: FrameParser._ping,
    FrameType.GOAWAY: FrameParser._goaway,
    FrameType.HEADERS: FrameParser._headers_frame,
    FrameType.WINDOW_UPDATE: FrameParser._window_update,
}


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) < size:
        raise SpdyProtocolError(f"{what} frame of {len(payload)} bytes is shorter than {size}")


def _exact(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise SpdyProtocolError(f"{what} frame must be {size} bytes, got {len(payload)}")


def _stream_id(raw: int, what: str) -> int:
    stream_id = raw & MAX_STREAM_ID
    if stream_id == 0:
        raise SpdyProtocolError(f"{what} on stream 0")
    return stream_id


class FrameWriter:
    """Turns frames into bytes; owns this side's header compression stream."""

    def __init__(self) -> None:
        self._headers = HeaderCompressor()

    def encode(self, frame: Frame) -> bytes:
        match frame:
            case DataFrame():
                return data_frame(frame.stream_id, frame.data, fin=frame.fin)
            case SynStream():
                flags = (FLAG_FIN if frame.fin else 0) | (FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
                fixed = struct.pack(
                    ">IIBB", frame.stream_id, frame.associated_stream_id, frame.priority << 5, 0
                )
                return control_frame(
                    FrameType.SYN_STREAM, flags, fixed + self._headers.compress(frame.headers)
                )
            case SynReply():
                body = struct.pack(">I", frame.stream_id) + self._headers.compress(frame.headers)
                return control_frame(FrameType.SYN_REPLY, FLAG_FIN if frame.fin else 0, body)
            case Headers():
                body = struct.pack(">I", frame.stream_id) + self._headers.compress(frame.headers)
                return control_frame(FrameType.HEADERS, FLAG_FIN if frame.fin else 0, body)
            case RstStream():
                return control_frame(
                    FrameType.RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status)
                )
            case Settings():
                body = struct.pack(">I", len(frame.entries)) + b"".join(
                    struct.pack(">II", (entry.flags << 24) | entry.id, entry.value) for entry in frame.entries
                )
                return control_frame(FrameType.SETTINGS, 0x01 if frame.clear else 0, body)
            case Ping():
                return control_frame(FrameType.PING, 0, struct.pack(">I", frame.ping_id))
            case GoAway():
                return control_frame(
                    FrameType.GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status)
                )
            case WindowUpdate():
                return control_frame(
                    FrameType.WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta)
                )
