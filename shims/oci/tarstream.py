"""A tar archive read once, front to back: headers parsed by ``tarfile``, file data written to disk
straight from the reader's buffers (no copies through ``tarfile``'s stream and file objects).

Malformed headers are errors (as in Go's archive/tar, which containerd uses), not an early end.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from typing import Protocol

from shims.oci.content import CHUNK

BLOCK = tarfile.BLOCKSIZE
MAX_HEADER_BYTES = 16 << 20
"""Largest pax or GNU long-name record read into memory (names and xattrs are far smaller)."""


class ChunkReader(Protocol):
    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; b"" only at the end."""
        ...


class TarStream:
    """The members of a tar stream, in order; a member's data is there until the next is asked for.

    Also what ``tarfile.TarInfo.fromtarfile`` reads headers through (``fileobj``, ``encoding``,
    ``errors``, ``offset``, ``pax_headers``), so pax and GNU headers mean what they mean to tarfile."""

    encoding = "utf-8"
    errors = "surrogateescape"

    def __init__(self, reader: ChunkReader) -> None:
        self.fileobj = self
        self.offset = 0
        """Where the next header starts (tarfile advances it past each member's data)."""
        self.pax_headers: dict[str, str] = {}
        self._reader = reader
        self._chunk = memoryview(b"")
        self._position = 0

    def members(self) -> Iterator[tarfile.TarInfo]:
        while True:
            self._skip_to(self.offset)
            try:
                member = tarfile.TarInfo.fromtarfile(self)  # type: ignore[arg-type]
            except tarfile.EOFHeaderError:  # type: ignore[attr-defined]  # a zero block: the end
                return
            except tarfile.EmptyHeaderError:  # type: ignore[attr-defined]  # no more data
                if self._position == 0:
                    raise tarfile.ReadError("the layer is an empty file") from None
                return
            yield member

    def write_to(self, descriptor: int, size: int) -> None:
        """Write the next ``size`` bytes of the stream to ``descriptor``."""
        while size:
            view = self._next_view(size)
            written = os.write(descriptor, view)
            self._chunk = self._chunk[written:]
            self._position += written
            size -= written

    # ---- what tarfile.TarInfo.fromtarfile calls ------------------------------------------------

    def read(self, size: int) -> bytes:
        if size > MAX_HEADER_BYTES:
            raise tarfile.ReadError(f"a {size}-byte tar header record is over the {MAX_HEADER_BYTES} limit")
        parts = []
        while size:
            view = self._next_view(size, at_end=b"")
            if not view:
                break
            parts.append(bytes(view))
            self._chunk = self._chunk[len(view) :]
            self._position += len(view)
            size -= len(view)
        return b"".join(parts)

    def tell(self) -> int:
        return self._position

    # ---- reading -------------------------------------------------------------------------------

    def _skip_to(self, offset: int) -> None:
        while self._position < offset:
            view = self._next_view(offset - self._position)
            self._chunk = self._chunk[len(view) :]
            self._position += len(view)

    def _next_view(self, size: int, *, at_end: bytes | None = None) -> memoryview:
        """Up to ``size`` bytes of the current chunk (reading the next one if it is used up)."""
        if not self._chunk:
            self._chunk = memoryview(self._reader.read(CHUNK))
            if not self._chunk:
                if at_end is not None:
                    return memoryview(at_end)
                raise tarfile.ReadError("unexpected end of the layer inside an entry")
        return self._chunk[:size]
