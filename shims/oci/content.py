"""Content-addressed blobs on disk: written atomically (temp file, fsync, rename), verified before use."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cri.errors import Internal, NotFound
from shims.node.atomicfile import write_temporary
from shims.oci.reference import validate_digest

CHUNK = 1 << 20


class DigestMismatch(Internal):
    """Content whose digest or size is not the one it was asked for."""


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class Descriptor:
    """An OCI content descriptor: what a manifest says about a blob."""

    media_type: str
    digest: str
    size: int


@dataclass(frozen=True, kw_only=True, slots=True)
class DiskUsage:
    used_bytes: int
    inodes_used: int


class BlobWriter:
    """Receives a blob's bytes, hashing them; ``commit`` checks digest and size, syncs, then renames.

    With ``hash_later`` the bytes are not hashed here: whoever writes them hashes them on the way
    (e.g. a worker thread unpacking a layer, which tees the blob into this writer) and hands the
    digest it computed to ``commit``, which checks it. Nothing is committed unverified either way."""

    def __init__(self, *, temp: Path, target: Path, expected: Descriptor | None, hash_later: bool) -> None:
        self.temp_path = temp
        self._target = target
        self._expected = expected
        self._hash = None if hash_later else hashlib.sha256()
        self._size = 0
        self._file: BinaryIO = open(temp, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, chunk: bytes) -> None:
        if self._hash is not None:
            self._hash.update(chunk)
        self._size += len(chunk)
        if self._expected is not None and self._size > self._expected.size:
            raise DigestMismatch(
                f"blob {self._expected.digest} is longer than its {self._expected.size} bytes"
            )
        self._file.write(chunk)

    async def put(self, chunk: bytes) -> None:
        """``write`` as a ``RegistryClient.fetch_blob`` sink (small blobs: it writes on the loop)."""
        self.write(chunk)

    @property
    def written(self) -> int:
        return self._size

    def close(self) -> None:
        self._file.close()

    def commit(self, *, computed_digest: str | None = None) -> str:
        """Verify, then make the blob durable (fsync, as containerd's content store does) and visible."""
        self._file.flush()
        if self._hash is not None:
            digest = "sha256:" + self._hash.hexdigest()
        elif computed_digest is not None:
            digest = computed_digest
        else:
            raise ValueError("a hash_later blob needs the digest its reader computed")
        expected = self._expected
        if expected is not None and (digest != expected.digest or self._size != expected.size):
            got = f"{digest} ({self._size} bytes)"
            raise DigestMismatch(f"blob {expected.digest} ({expected.size} bytes) arrived as {got}")
        os.fsync(self._file.fileno())
        self._file.close()
        self._target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp_path, self._target)
        return digest

    def abort(self) -> None:
        try:
            self._file.close()  # flushing may fail again (a full disk): the file goes all the same
        finally:
            self.temp_path.unlink(missing_ok=True)


class ContentStore:
    """``<root>/blobs/sha256/<hex>``; partial downloads live in ``<root>/ingest`` until committed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs" / "sha256"
        self._ingest = root / "ingest"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._ingest.mkdir(parents=True, exist_ok=True)
        for leftover in self._ingest.iterdir():
            leftover.unlink(missing_ok=True)

    def path(self, digest: str) -> Path:
        return self._blobs / validate_digest(digest).removeprefix("sha256:")

    def has(self, descriptor: Descriptor) -> bool:
        try:
            return self.path(descriptor.digest).stat().st_size == descriptor.size
        except FileNotFoundError:
            return False

    @contextmanager
    def writer(self, expected: Descriptor | None = None, *, hash_later: bool = False) -> Iterator[BlobWriter]:
        """Write a blob; on any exception (cancellation included) the partial file is removed."""
        temp = self._ingest / uuid.uuid4().hex
        target = self.path(expected.digest) if expected else self._ingest / f"{temp.name}.unnamed"
        blob = BlobWriter(temp=temp, target=target, expected=expected, hash_later=hash_later)
        try:
            yield blob
        except BaseException:
            blob.abort()
            raise

    def put(self, data: bytes, expected: Descriptor | None = None) -> str:
        digest = sha256_digest(data)
        target = self.path(digest)
        if expected is not None and (digest != expected.digest or len(data) != expected.size):
            raise DigestMismatch(f"content {expected.digest} arrived as {digest} ({len(data)} bytes)")
        if not target.exists():
            temp = self._ingest / uuid.uuid4().hex
            write_temporary(temp, data)
            os.replace(temp, target)
        return digest

    def read(self, descriptor: Descriptor) -> bytes:
        """The verified bytes of a blob; a corrupted blob is deleted and reported."""
        try:
            data = self.path(descriptor.digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {descriptor.digest} is not in the content store") from None
        if sha256_digest(data) != descriptor.digest or len(data) != descriptor.size:
            self.path(descriptor.digest).unlink(missing_ok=True)
            raise DigestMismatch(f"blob {descriptor.digest} in the content store is corrupted; removed it")
        return data

    def digests(self) -> set[str]:
        return {"sha256:" + path.name for path in self._blobs.iterdir()}

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def usage(self) -> DiskUsage:
        files = list(self._blobs.iterdir())
        return DiskUsage(used_bytes=sum(f.stat().st_size for f in files), inodes_used=len(files))
