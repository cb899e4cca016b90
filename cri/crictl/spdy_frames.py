"""SPDY/3.1 framing for the CRI streaming client: frames, and header blocks compressed with zlib.

This is the client's copy of the codec; ``cri.streaming`` (the server side) is to own the one shared
codec, and this module goes once that lands. Only what a CRI streaming client sends and receives is
here: SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE and DATA.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_CANCEL = 5
HEADER_SIZE = 8
MAX_DATA = 32 * 1024

_WORDS = (
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
# The SPDY/3 header dictionary (1423 bytes, Adler-32 0xe3c6a7c2).
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


class ProtocolError(Exception):
    """Bytes that are not SPDY/3.1 as a CRI streaming server speaks it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Frame:
    """One frame. ``kind`` is 0 for DATA, else the control frame type."""

    kind: int
    flags: int
    stream_id: int = 0
    payload: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    status: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class HeaderCodec:
    """One direction's header compression: a single zlib stream with the SPDY/3 dictionary."""

    def __init__(self) -> None:
        self._compress = zlib.compressobj(zdict=DICTIONARY)
        self._decompress = zlib.decompressobj(zdict=DICTIONARY)

    def encode(self, headers: tuple[tuple[str, str], ...]) -> bytes:
        block = struct.pack(">I", len(headers))
        for name, value in headers:
            name_bytes, value_bytes = name.lower().encode(), value.encode()
            block += (
                struct.pack(">I", len(name_bytes))
                + name_bytes
                + struct.pack(">I", len(value_bytes))
                + value_bytes
            )
        return self._compress.compress(block) + self._compress.flush(zlib.Z_SYNC_FLUSH)

    def decode(self, compressed: bytes) -> tuple[tuple[str, str], ...]:
        try:
            block = self._decompress.decompress(compressed)
        except zlib.error as exc:
            raise ProtocolError(f"bad SPDY header block: {exc}") from None
        return _parse_pairs(block)


def _parse_pairs(block: bytes) -> tuple[tuple[str, str], ...]:
    if not block:
        return ()
    try:
        (count,) = struct.unpack_from(">I", block)
        offset, pairs = 4, []
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, offset)
            name = block[offset + 4 : offset + 4 + size].decode()
            offset += 4 + size
            (size,) = struct.unpack_from(">I", block, offset)
            value = block[offset + 4 : offset + 4 + size].decode()
            offset += 4 + size
            pairs.append((name, value))
    except (struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"bad SPDY header pairs: {exc}") from None
    return tuple(pairs)


def _control(kind: int, flags: int, body: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(body)) + body


def syn_stream(
    codec: HeaderCodec, stream_id: int, headers: tuple[tuple[str, str], ...], *, fin: bool = False
) -> bytes:
    body = struct.pack(">IIH", stream_id, 0, 0) + codec.encode(headers)
    return _control(SYN_STREAM, FLAG_FIN if fin else 0, body)


def data(stream_id: int, payload: bytes, *, fin: bool = False) -> bytes:
    return struct.pack(">II", stream_id, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload


def ping(ping_id: int) -> bytes:
    return _control(PING, 0, struct.pack(">I", ping_id))


def rst_stream(stream_id: int, status: int = RST_CANCEL) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def goaway(last_stream_id: int = 0) -> bytes:
    return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, 0))


def window_update(stream_id: int, delta: int) -> bytes:
    return _control(WINDOW_UPDATE, 0, struct.pack(">II", stream_id, delta))


class FrameReader:
    """Frames out of a byte stream that arrives in arbitrary pieces."""

    def __init__(self, codec: HeaderCodec) -> None:
        self._codec = codec
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += chunk
        frames = []
        while len(self._buffer) >= HEADER_SIZE:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < HEADER_SIZE + length:
                break
            head = bytes(self._buffer[:HEADER_SIZE])
            body = bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + length])
            del self._buffer[: HEADER_SIZE + length]
            frames.append(self._frame(head, body))
        return frames

    def _frame(self, head: bytes, body: bytes) -> Frame:
        flags = head[4]
        if not head[0] & 0x80:
            return Frame(
                kind=0, flags=flags, stream_id=int.from_bytes(head[:4], "big") & 0x7FFFFFFF, payload=body
            )
        version, kind = struct.unpack_from(">HH", head)
        if version & 0x7FFF != VERSION:
            raise ProtocolError(f"SPDY version {version & 0x7FFF} is not 3")
        stream_id = int.from_bytes(body[:4], "big") & 0x7FFFFFFF if len(body) >= 4 else 0
        if kind == SYN_STREAM:
            return Frame(kind=kind, flags=flags, stream_id=stream_id, headers=self._codec.decode(body[10:]))
        if kind in (SYN_REPLY, HEADERS):
            return Frame(kind=kind, flags=flags, stream_id=stream_id, headers=self._codec.decode(body[4:]))
        if kind in (RST_STREAM, GOAWAY):
            status = int.from_bytes(body[4:8], "big") if len(body) >= 8 else 0
            return Frame(kind=kind, flags=flags, stream_id=stream_id, status=status)
        return Frame(kind=kind, flags=flags, stream_id=stream_id, payload=body)
