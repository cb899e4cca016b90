from __future__ import annotations

from pathlib import Path

import pytest

from cri.errors import NotFound
from shims.oci.content import ContentStore, Descriptor, DigestMismatch, sha256_digest


def _descriptor(data: bytes) -> Descriptor:
    return Descriptor(media_type="application/octet-stream", digest=sha256_digest(data), size=len(data))


def test_a_blob_is_written_in_chunks_and_read_back_verified(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    expected = _descriptor(b"hello world")
    with store.writer(expected) as writer:
        writer.write(b"hello ")
        writer.write(b"world")
        writer.commit()
    assert store.has(expected)
    assert store.read(expected) == b"hello world"
    assert list((tmp_path / "ingest").iterdir()) == []


def test_wrong_content_is_rejected_and_leaves_nothing(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    expected = _descriptor(b"the real thing")
    with pytest.raises(DigestMismatch), store.writer(expected) as writer:
        writer.write(b"the fake thing")
        writer.commit()
    assert not store.has(expected)
    assert list((tmp_path / "ingest").iterdir()) == []


def test_too_long_content_is_rejected_while_it_arrives(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(DigestMismatch, match="longer"), store.writer(_descriptor(b"abc")) as writer:
        writer.write(b"abcdef")


def test_a_corrupted_blob_is_detected_and_removed(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    expected = _descriptor(b"precious")
    store.put(b"precious", expected)
    store.path(expected.digest).write_bytes(b"precioua")
    with pytest.raises(DigestMismatch, match="corrupted"):
        store.read(expected)
    with pytest.raises(NotFound):
        store.read(expected)


def test_partial_downloads_from_a_previous_run_are_cleared(tmp_path: Path) -> None:
    ContentStore(tmp_path)
    (tmp_path / "ingest" / "stale").write_bytes(b"half")
    ContentStore(tmp_path)
    assert list((tmp_path / "ingest").iterdir()) == []
