from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Callable

import pytest

from shims.oci.content import CHUNK
from shims.oci.decompress import DECOMPRESS_ERRORS, LayerReader, gzip_decompressor

DATA = bytes(range(256)) * 4096 + b"\0" * (3 * CHUNK)
"""Some of it compresses a thousandfold: one compressed chunk must not become one huge read."""


def _zlib_decompressor() -> object:
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


CODECS = pytest.mark.parametrize(
    "new_decompressor", [gzip_decompressor, _zlib_decompressor], ids=["default", "zlib"]
)


def _read_all(reader: LayerReader, size: int) -> bytes:
    parts = []
    while part := reader.read(size):
        assert len(part) <= min(size, CHUNK)
        parts.append(part)
    return b"".join(parts)


@CODECS
@pytest.mark.parametrize("size", [512, CHUNK, 10 * CHUNK])
def test_reads_gunzip_and_hash_both_forms(new_decompressor: Callable[[], object], size: int) -> None:
    blob = gzip.compress(DATA, mtime=0)
    teed = io.BytesIO()
    reader = LayerReader(
        io.BufferedReader(io.BytesIO(blob)), gzipped=True, tee=teed.write,
        new_decompressor=new_decompressor,  # type: ignore[arg-type]
    )  # fmt: skip
    assert _read_all(reader, size) == DATA
    assert reader.blob_digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert reader.diff_id == "sha256:" + hashlib.sha256(DATA).hexdigest()
    assert teed.getvalue() == blob


@CODECS
def test_gzip_members_one_after_another_are_one_stream(new_decompressor: Callable[[], object]) -> None:
    blob = gzip.compress(b"first ", mtime=0) + gzip.compress(b"second", mtime=0)
    reader = LayerReader(io.BufferedReader(io.BytesIO(blob)), gzipped=True,
                         new_decompressor=new_decompressor)  # type: ignore[arg-type]  # fmt: skip
    assert _read_all(reader, 4) == b"first second"


@CODECS
def test_a_truncated_gzip_stream_is_an_error(new_decompressor: Callable[[], object]) -> None:
    blob = gzip.compress(DATA, mtime=0)[:-100]
    reader = LayerReader(io.BufferedReader(io.BytesIO(blob)), gzipped=True,
                         new_decompressor=new_decompressor)  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(EOFError):
        reader.drain()


@CODECS
def test_a_wrong_checksum_is_an_error(new_decompressor: Callable[[], object]) -> None:
    blob = bytearray(gzip.compress(b"payload", mtime=0))
    blob[-8] ^= 0xFF
    reader = LayerReader(io.BufferedReader(io.BytesIO(bytes(blob))), gzipped=True,
                         new_decompressor=new_decompressor)  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(DECOMPRESS_ERRORS):
        reader.drain()


def test_plain_tar_passes_through_hashed_once() -> None:
    reader = LayerReader(io.BufferedReader(io.BytesIO(DATA)), gzipped=False)
    assert _read_all(reader, 1000) == DATA
    assert reader.blob_digest == reader.diff_id == "sha256:" + hashlib.sha256(DATA).hexdigest()
