"""SPDY/3 header blocks: one zlib stream per direction, primed with the SPDY/3 dictionary.

Decompression is bounded (a header block may not inflate past ``max_block_size``), so a small
frame cannot expand into a memory bomb.
"""

from __future__ import annotations

import struct
import zlib

from cri.streaming.spdy.dictionary import SPDY3_DICTIONARY
from cri.streaming.spdy.frames import HeaderList, SpdyProtocolError, encode_header_block

DEFAULT_MAX_HEADER_BLOCK = 64 * 1024
MAX_HEADER_PAIRS = 256


class HeaderCompressor:
    """Compresses the header blocks one side sends, each ending with a sync flush."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, zdict=SPDY3_DICTIONARY)

    def compress(self, headers: HeaderList) -> bytes:
        block = encode_header_block(headers)
        return self._zlib.compress(block) + self._zlib.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    """Inflates the header blocks the peer sends; all of them share one zlib stream."""

    def __init__(self, *, max_block_size: int = DEFAULT_MAX_HEADER_BLOCK) -> None:
        self._zlib = zlib.decompressobj(15, zdict=SPDY3_DICTIONARY)
        self._max_block_size = max_block_size

    def decompress(self, compressed: bytes) -> HeaderList:
        try:
            block = self._zlib.decompress(compressed, self._max_block_size + 1)
        except zlib.error as exc:
            raise SpdyProtocolError(
                f"header block is not valid zlib with the SPDY/3 dictionary: {exc}"
            ) from None
        if len(block) > self._max_block_size or self._zlib.unconsumed_tail:
            raise SpdyProtocolError(f"header block inflates past {self._max_block_size} bytes")
        return decode_header_block(block)


def decode_header_block(block: bytes) -> HeaderList:
    reader = _BlockReader(block)
    count = reader.u32("header count")
    if count > MAX_HEADER_PAIRS:
        raise SpdyProtocolError(f"header block claims {count} pairs, more than {MAX_HEADER_PAIRS}")
    pairs = []
    for _ in range(count):
        name = reader.string("header name")
        value = reader.string("header value")
        if not name:
            raise SpdyProtocolError("header block has an empty header name")
        pairs.append((name.lower(), value))
    if reader.remaining:
        raise SpdyProtocolError(f"header block has {reader.remaining} trailing bytes")
    return tuple(pairs)


class _BlockReader:
    def __init__(self, block: bytes) -> None:
        self._block = block
        self._offset = 0

    @property
    def remaining(self) -> int:
        return len(self._block) - self._offset

    def u32(self, what: str) -> int:
        if self.remaining < 4:
            raise SpdyProtocolError(f"header block truncated in {what}")
        (value,) = struct.unpack_from(">I", self._block, self._offset)
        self._offset += 4
        return int(value)

    def string(self, what: str) -> str:
        length = self.u32(f"{what} length")
        if length > self.remaining:
            raise SpdyProtocolError(f"{what} length {length} runs past the header block")
        raw = self._block[self._offset : self._offset + length]
        self._offset += length
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise SpdyProtocolError(f"{what} is not UTF-8") from None
