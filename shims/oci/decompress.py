"""Reading a layer blob once: hash it as it is (its digest) and uncompressed (its diff_id), gunzip it.

Gunzip uses ISA-L (``isal``) when it is installed: same format and checks (CRC and length of every
gzip member), several times faster than zlib; zlib otherwise.
"""

from __future__ import annotations

import hashlib
import types
import zlib
from collections.abc import Callable
from typing import Protocol

from shims.oci.content import CHUNK

_gzip_codec: types.ModuleType
try:
    from isal import isal_zlib

    _gzip_codec = isal_zlib
except ImportError:  # pragma: no cover - isal is a declared dependency; zlib keeps the store usable
    _gzip_codec = zlib

DECOMPRESS_ERRORS: tuple[type[Exception], ...] = (zlib.error, _gzip_codec.error)
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class Readable(Protocol):
    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes, b"" only at the end (``io.BufferedReader.read1``)."""
        ...


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unconsumed_tail(self) -> bytes: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


def gzip_decompressor() -> _Decompressor:
    decompressor: _Decompressor = _gzip_codec.decompressobj(_GZIP_WBITS)
    return decompressor


class _Gunzip:
    """Gzip members one after the other (as Go's and Python's readers accept), output bounded per call."""

    def __init__(self, new_decompressor: Callable[[], _Decompressor]) -> None:
        self._new = new_decompressor
        self._member = new_decompressor()
        self.held = b""
        """Input taken but not decompressed yet (output was bounded, or a next member starts)."""

    def decompress(self, data: bytes, limit: int) -> bytes:
        """Decompress ``data`` (or, given b"", the held input) into at most ``limit`` bytes."""
        if self._member.eof:
            self._member = self._new()
        out = self._member.decompress(data or self.held, limit)
        self.held = self._member.unconsumed_tail or self._member.unused_data
        return out

    def finish(self) -> None:
        if not self._member.eof:
            raise EOFError("the compressed layer ends in the middle of a gzip stream")


class LayerReader:
    """A file-like ``read`` over a (gzip or plain) layer blob for ``tarfile``'s stream mode.

    Reads may be short (stream mode accepts that; b"" only at the end); each read is at most
    ``CHUNK`` bytes, however well the blob compresses. Every byte taken from ``source`` also goes to
    ``tee``."""

    def __init__(
        self, source: Readable, *, gzipped: bool, tee: Callable[[bytes], object] | None = None,
        new_decompressor: Callable[[], _Decompressor] = gzip_decompressor,
    ) -> None:  # fmt: skip
        self._source = source
        self._tee = tee
        self._gunzip = _Gunzip(new_decompressor) if gzipped else None
        self._blob_hash = hashlib.sha256()
        self._diff_hash = hashlib.sha256()
        self._source_done = False

    @property
    def blob_digest(self) -> str:
        return "sha256:" + self._blob_hash.hexdigest()

    @property
    def diff_id(self) -> str:
        return "sha256:" + self._diff_hash.hexdigest()

    def read(self, size: int = -1) -> bytes:
        limit = CHUNK if size < 0 else min(size, CHUNK)
        while True:
            data = self._step(limit)
            if data or (self._source_done and not (self._gunzip and self._gunzip.held)):
                self._diff_hash.update(data)
                return data

    def drain(self) -> None:
        """Read to the end of the blob (tar padding after the last entry, gzip trailer)."""
        while self.read(CHUNK):
            pass

    def _step(self, limit: int) -> bytes:
        if self._gunzip is not None and self._gunzip.held:
            return self._gunzip.decompress(b"", limit)
        raw = b"" if self._source_done else self._source.read1(CHUNK if self._gunzip else limit)
        if not raw:
            self._source_done = True
            if self._gunzip is not None:
                self._gunzip.finish()
            return b""
        self._blob_hash.update(raw)
        if self._tee is not None:
            self._tee(raw)
        return self._gunzip.decompress(raw, limit) if self._gunzip is not None else raw
