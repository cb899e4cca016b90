"""Apply a (gzip or plain) tar layer into its own directory, in the form overlayfs wants lowerdirs in.

Whiteouts (``.wh.<name>``) become 0/0 character devices and opaque markers (``.wh..wh..opq``) the
``trusted.overlay.opaque`` xattr, as containerd's overlay snapshotter does. Nothing is ever written
outside the layer root: ``..`` entries, links escaping the root and writes through symlinks are
rejected, as are entries larger than the limit.
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from cri.errors import Cancelled, FailedPrecondition, Internal
from shims.oci.decompress import DECOMPRESS_ERRORS, LayerReader, Readable
from shims.oci.tarstream import TarStream

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
DEFAULT_MAX_ENTRY_BYTES = 8 << 30
_XATTR_PAX_PREFIX = "SCHILY.xattr."
_UNREADABLE: tuple[type[Exception], ...] = (*DECOMPRESS_ERRORS, EOFError, tarfile.TarError)


class UnsafeLayer(FailedPrecondition):
    """A layer that tries to escape its root, or holds an entry over the size limit."""


class CorruptLayer(Internal):
    """A layer blob that is not a readable (gzip) tar."""


@dataclass(frozen=True, kw_only=True, slots=True)
class UnpackResult:
    blob_digest: str
    """sha256 of the blob as read (compressed): the layer's digest in the manifest."""
    diff_id: str
    """sha256 of the uncompressed tar: the layer's entry in the config's rootfs.diff_ids."""
    size: int


def unpack_layer(
    blob: Path, target: Path, *, gzipped: bool, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    should_stop: Callable[[], bool] = lambda: False,
) -> UnpackResult:  # fmt: skip
    """Extract ``blob`` into the (empty) directory ``target``; returns the uncompressed digest.

    ``should_stop`` is polled between entries so a cancelled pull stops its worker thread."""
    with blob.open("rb") as source:
        return unpack_stream(
            source, target, gzipped=gzipped, max_entry_bytes=max_entry_bytes, should_stop=should_stop
        )


def unpack_stream(
    source: Readable, target: Path, *, gzipped: bool, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    should_stop: Callable[[], bool] = lambda: False, tee: Callable[[bytes], object] | None = None,
) -> UnpackResult:  # fmt: skip
    """``unpack_layer`` over any readable: a file, or a feed of bytes still downloading.

    Every byte read (the blob as it is, compressed) also goes to ``tee``, e.g. a content-store writer."""
    target.mkdir(parents=True, exist_ok=True)
    reader = LayerReader(source, gzipped=gzipped, tee=tee)
    try:
        return _unpack(reader, target, max_entry_bytes=max_entry_bytes, should_stop=should_stop)
    except _UNREADABLE as exc:
        raise CorruptLayer(f"layer blob is not a readable tar: {exc}") from None


def _unpack(
    reader: LayerReader, target: Path, *, max_entry_bytes: int, should_stop: Callable[[], bool]
) -> UnpackResult:
    applier = _Applier(root=target, max_entry_bytes=max_entry_bytes)
    archive = TarStream(reader)
    for member in archive.members():
        if should_stop():
            raise Cancelled("unpacking the layer was cancelled")
        applier.apply(archive, member)
    reader.drain()
    applier.finish()
    return UnpackResult(blob_digest=reader.blob_digest, diff_id=reader.diff_id, size=applier.bytes_written)


@dataclass(kw_only=True)
class _Applier:
    root: Path
    max_entry_bytes: int
    bytes_written: int = 0
    _dirs: list[tuple[Path, tarfile.TarInfo]] = field(default_factory=list)
    _privileged: bool = field(default_factory=lambda: os.geteuid() == 0)

    def apply(self, archive: TarStream, member: tarfile.TarInfo) -> None:
        relative = _safe_relative(member.name)
        if relative is None:
            return
        if member.size > self.max_entry_bytes:
            limit = self.max_entry_bytes
            raise UnsafeLayer(f"layer entry {member.name!r} is {member.size} bytes, over the {limit} limit")
        parent, _, base = relative.rpartition("/")
        parent_dir = self._ensure_parent(parent)
        if base == OPAQUE_MARKER:
            _set_xattr(parent_dir, OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parent_dir / base.removeprefix(WHITEOUT_PREFIX))
            return
        path = parent_dir / base
        self._make(archive, member, path, relative)
        self._set_attributes(path, member)

    def finish(self) -> None:
        for path, member in reversed(self._dirs):
            self._set_attributes(path, member, final=True)

    def _make(self, archive: TarStream, member: tarfile.TarInfo, path: Path, relative: str) -> None:
        existing = _lstat(path)
        if existing is not None and not (member.isdir() and stat.S_ISDIR(existing.st_mode)):
            _remove(path, existing)
        if member.isdir():
            path.mkdir(mode=0o755, exist_ok=True)
            self._dirs.append((path, member))
        elif member.isreg():
            self._write_file(archive, member, path)
        elif member.issym():
            _check_symlink(relative, member.linkname)
            os.symlink(member.linkname, path)
        elif member.islnk():
            os.link(self._hardlink_source(member), path, follow_symlinks=False)
        elif member.ischr() or member.isblk() or member.isfifo():
            self._make_node(member, path)
        else:
            log.debug("skipping layer entry %s of type %r", member.name, member.type)

    def _write_file(self, archive: TarStream, member: tarfile.TarInfo, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(path, flags, 0o600)
        try:
            if member.sparse is None:
                archive.write_to(descriptor, member.size)
            else:
                for offset, length in cast("list[tuple[int, int]]", member.sparse):
                    os.lseek(descriptor, offset, os.SEEK_SET)
                    archive.write_to(descriptor, length)
                os.ftruncate(descriptor, member.size)
        finally:
            os.close(descriptor)
        self.bytes_written += member.size

    def _make_node(self, member: tarfile.TarInfo, path: Path) -> None:
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
        try:
            os.mknod(path, kind | (member.mode & 0o7777), os.makedev(member.devmajor, member.devminor))
        except PermissionError:
            log.debug("no permission to create device node %s; skipped", member.name)

    def _hardlink_source(self, member: tarfile.TarInfo) -> Path:
        relative = _safe_relative(member.linkname)
        if relative is None:
            raise UnsafeLayer(f"hard link {member.name!r} -> {member.linkname!r} points at the layer root")
        parent, _, base = relative.rpartition("/")
        source = self._ensure_parent(parent, create=False) / base
        if _lstat(source) is None:
            raise UnsafeLayer(f"hard link {member.name!r} -> {member.linkname!r}: target is not in the layer")
        return source

    def _whiteout(self, path: Path) -> None:
        existing = _lstat(path)
        if existing is not None:
            _remove(path, existing)
        os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))

    def _ensure_parent(self, parent: str, *, create: bool = True) -> Path:
        """The parent directory inside the root, refusing to pass through symlinks."""
        current = self.root
        for component in parent.split("/") if parent else ():
            current = current / component
            found = _lstat(current)
            if found is None and create:
                current.mkdir(mode=0o755)
            elif found is None:
                raise UnsafeLayer(f"{parent!r} does not exist in the layer")
            elif not stat.S_ISDIR(found.st_mode):
                raise UnsafeLayer(f"layer path {parent!r} passes through a non-directory ({component!r})")
        return current

    def _set_attributes(self, path: Path, member: tarfile.TarInfo, *, final: bool = False) -> None:
        if member.isdir() and not final:
            return
        if self._privileged:
            os.lchown(path, member.uid, member.gid)
        if not member.issym():
            os.chmod(path, member.mode & 0o7777)
        for key, value in member.pax_headers.items():
            if key.startswith(_XATTR_PAX_PREFIX):
                name = key.removeprefix(_XATTR_PAX_PREFIX)
                _set_xattr(path, name, value.encode("utf-8", "surrogateescape"))
        os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


def _safe_relative(name: str) -> str | None:
    """The entry's path relative to the root (None for the root itself); rejects ``..``."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(f"layer entry {name!r} climbs out of the layer root with '..'")
    return "/".join(parts) or None


def _check_symlink(relative: str, target: str) -> None:
    """Absolute targets resolve inside the container root; relative ones must not climb above it."""
    if target.startswith("/"):
        return
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeLayer(f"symlink {relative!r} -> {target!r} escapes the layer root")


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _remove(path: Path, found: os.stat_result) -> None:
    if stat.S_ISDIR(found.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()


def _set_xattr(path: Path, name: str, value: bytes) -> None:
    try:
        os.setxattr(path, name, value, follow_symlinks=False)
    except OSError as exc:
        log.debug("cannot set xattr %s on %s: %s", name, path, exc)
