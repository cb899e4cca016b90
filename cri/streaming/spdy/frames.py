"""SPDY/3.1 frames: what each frame holds, and how it is written to bytes.

Reading lives in ``parser.py``; header blocks are compressed in ``headers.py``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

SPDY_VERSION = 3
CONTROL_BIT = 0x8000
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_STREAM_ID = 0x7FFFFFFF
MAX_FRAME_LENGTH = 0xFFFFFF
DEFAULT_WINDOW = 64 * 1024
MAX_WINDOW = 0x7FFFFFFF

HeaderList = tuple[tuple[str, str], ...]


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    FRAME_TOO_LARGE = 11


class GoAwayStatus(IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2


class SettingId(IntEnum):
    MAX_CONCURRENT_STREAMS = 4
    INITIAL_WINDOW_SIZE = 7


class SpdyProtocolError(Exception):
    """The peer broke the protocol; the session answers with GOAWAY and closes."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class SynStream:
    stream_id: int
    headers: HeaderList
    associated_stream_id: int = 0
    priority: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class SynReply:
    stream_id: int
    headers: HeaderList = ()
    fin: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Setting:
    id: int
    value: int
    flags: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    entries: tuple[Setting, ...]
    clear: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Ping:
    ping_id: int


@dataclass(frozen=True, kw_only=True, slots=True)
class GoAway:
    last_good_stream_id: int
    status: int = GoAwayStatus.OK


@dataclass(frozen=True, kw_only=True, slots=True)
class Headers:
    stream_id: int
    headers: HeaderList
    fin: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class WindowUpdate:
    stream_id: int
    delta: int


Frame = DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | Headers | WindowUpdate


def header(name: str, value: str) -> tuple[str, str]:
    return (name.lower(), value)


def header_value(headers: HeaderList, name: str) -> str | None:
    """The value of ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def control_frame(frame_type: FrameType, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_LENGTH:
        raise ValueError(f"control frame payload of {len(payload)} bytes exceeds {MAX_FRAME_LENGTH}")
    head = struct.pack(">HHI", CONTROL_BIT | SPDY_VERSION, frame_type, (flags << 24) | len(payload))
    return head + payload


def data_frame(stream_id: int, data: bytes, *, fin: bool) -> bytes:
    if len(data) > MAX_FRAME_LENGTH:
        raise ValueError(f"data frame of {len(data)} bytes exceeds {MAX_FRAME_LENGTH}")
    flags = FLAG_FIN if fin else 0
    return struct.pack(">II", stream_id & MAX_STREAM_ID, (flags << 24) | len(data)) + data


def encode_header_block(headers: HeaderList) -> bytes:
    """The uncompressed name/value block: counts and lengths are 32-bit big-endian."""
    parts = [struct.pack(">I", len(headers))]
    for name, value in headers:
        encoded_name, encoded_value = name.lower().encode(), value.encode()
        parts += [struct.pack(">I", len(encoded_name)), encoded_name]
        parts += [struct.pack(">I", len(encoded_value)), encoded_value]
    return b"".join(parts)
