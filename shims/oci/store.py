"""The image store: image records with their tags and digests over a content store and a layer store.

``<root>/blobs``: content by digest; ``<root>/layers/<chain id hex>``: each layer unpacked on its own
(overlayfs lowerdir form); ``<root>/images/<id hex>.json``: image records. Lookups accept an id (full,
bare hex or a unique prefix), a tag or a digest reference; removal takes the image and all its names.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from cri.errors import NotFound
from shims.node import mounts
from shims.oci.content import ContentStore, DiskUsage
from shims.oci.manifest import ImageConfig, parse_config
from shims.oci.records import ImageRecord, RecordFiles
from shims.oci.reference import InvalidReference, parse
from shims.oci.spread import spread_subdirectories
from shims.oci.unpack import OPAQUE_XATTR, WHITEOUT_PREFIX

log = logging.getLogger(__name__)

MIN_ID_PREFIX = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreUsage:
    mountpoint: Path
    used_bytes: int
    inodes_used: int


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        self.content = ContentStore(root)
        self.layers_dir = root / "layers"
        self.layers_dir.mkdir(exist_ok=True)
        spread_subdirectories(self.layers_dir)
        for leftover in self.layers_dir.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        self._files = RecordFiles(root / "images")
        self._records: dict[str, ImageRecord] = {r.id: r for r in self._files.load_all()}
        self.in_use: Counter[str] = Counter()
        """Digests and chain ids an in-flight pull is working on: garbage collection leaves them alone."""
        self.lock = asyncio.Lock()
        self.layers_kept_for_mounts = False
        """The last collection kept layers only because a container had them mounted."""

    # ---- lookups -------------------------------------------------------------------------------

    def records(self) -> list[ImageRecord]:
        return sorted(self._records.values(), key=lambda record: record.id)

    def find(self, text: str) -> ImageRecord | None:
        """By id (``sha256:<hex>``, ``<hex>`` or a unique prefix), tag, or digest reference."""
        by_id = self._find_by_id(text)
        if by_id is not None:
            return by_id
        try:
            ref = parse(text)
        except InvalidReference:
            return None
        for record in self._records.values():
            if (ref.digest and ref.digested in record.repo_digests) or (
                not ref.digest and ref.tagged in record.repo_tags
            ):
                return record
        return None

    def get(self, text: str) -> ImageRecord:
        record = self.find(text)
        if record is None:
            raise NotFound(f"image {text!r} not found")
        return record

    def _find_by_id(self, text: str) -> ImageRecord | None:
        hex_part = text.removeprefix("sha256:")
        if len(hex_part) < MIN_ID_PREFIX or any(c not in "0123456789abcdef" for c in hex_part):
            return None
        if text.startswith("sha256:") and len(hex_part) == 64:
            return self._records.get(text)
        matches = [r for r in self._records.values() if r.id.removeprefix("sha256:").startswith(hex_part)]
        return matches[0] if len(matches) == 1 else None

    # ---- mutation ------------------------------------------------------------------------------

    def add(self, record: ImageRecord) -> ImageRecord:
        """Record an image (merging names into an existing record); a tag moves off any other image."""
        existing = self._records.get(record.id)
        tags = tuple(dict.fromkeys((*(existing.repo_tags if existing else ()), *record.repo_tags)))
        digests = tuple(dict.fromkeys((*(existing.repo_digests if existing else ()), *record.repo_digests)))
        merged = replace(record, repo_tags=tags, repo_digests=digests)
        for other in list(self._records.values()):
            if other.id != merged.id and set(other.repo_tags) & set(tags):
                self._save(replace(other, repo_tags=tuple(t for t in other.repo_tags if t not in tags)))
        self._save(merged)
        return merged

    def _save(self, record: ImageRecord) -> None:
        self._files.save(record)
        self._records[record.id] = record

    async def remove(self, text: str) -> ImageRecord | None:
        """Remove the image ``text`` names with all its tags and digests; None if there was none."""
        async with self.lock:
            record = self.find(text)
            if record is None:
                return None
            self._files.delete(record.id)
            del self._records[record.id]
            await asyncio.to_thread(self.collect_garbage)
            log.info("removed image %s (%s)", record.id, ", ".join(record.repo_tags) or "untagged")
            return record

    def collect_garbage(self) -> None:
        """Delete blobs and layers no image record, in-flight pull or mounted overlay refers to.

        A container keeps its layers while its root filesystem (or an image volume) is mounted,
        also after its image is removed; the first collection after the unmount takes them.
        """
        wanted = set(self.in_use)
        for record in self._records.values():
            wanted |= {
                record.manifest.digest,
                record.config.digest,
                *(layer.digest for layer in record.layers),
            }
            wanted |= set(record.chain_ids)
        kept_for_mounts = self._mounted_layers() - wanted
        self.layers_kept_for_mounts = bool(kept_for_mounts)
        wanted |= kept_for_mounts
        for digest in self.content.digests() - wanted:
            self.content.delete(digest)
        for layer in self.layers_dir.iterdir():
            if not layer.name.startswith(".") and "sha256:" + layer.name not in wanted:
                shutil.rmtree(layer, ignore_errors=True)

    async def collect_released_layers(self) -> None:
        """After an unmount: collect the layers only mounts kept (their images were removed)."""
        if self.layers_kept_for_mounts:
            async with self.lock:
                await asyncio.to_thread(self.collect_garbage)

    def _mounted_layers(self) -> set[str]:
        layers_dir = self.layers_dir.resolve()
        return {"sha256:" + d.name for d in mounts.overlay_lower_dirs() if d.parent == layers_dir}

    # ---- what a runtime needs ------------------------------------------------------------------

    def config(self, record: ImageRecord) -> ImageConfig:
        return parse_config(self.content.read(record.config))

    def layer_dir(self, chain_id: str) -> Path:
        return self.layers_dir / chain_id.removeprefix("sha256:")

    def lower_dirs(self, record: ImageRecord) -> tuple[Path, ...]:
        """The image's layers, top first, as overlayfs ``lowerdir`` wants them."""
        dirs = tuple(self.layer_dir(chain_id) for chain_id in reversed(record.chain_ids))
        missing = [str(path) for path in dirs if not path.is_dir()]
        if missing:
            raise NotFound(f"image {record.id} is missing unpacked layers {missing}: pull it again")
        return dirs

    def read_file(self, record: ImageRecord, path: str) -> bytes | None:
        """A regular file of the merged image filesystem (e.g. ``/etc/passwd``), or None."""
        return read_merged_file(self.lower_dirs(record), path)

    def usage(self) -> StoreUsage:
        blobs = self.content.usage()
        layers = _tree_usage(self.layers_dir.iterdir())
        return StoreUsage(
            mountpoint=self.root,
            used_bytes=blobs.used_bytes + layers.used_bytes,
            inodes_used=blobs.inodes_used + layers.inodes_used,
        )


def read_merged_file(lower_dirs: tuple[Path, ...], path: str) -> bytes | None:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    for layer in lower_dirs:
        if _hidden_in(layer, parts):
            return None
        candidate = layer.joinpath(*parts)
        try:
            found = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            if _opaque_above(layer, parts):
                return None
            continue
        return candidate.read_bytes() if stat.S_ISREG(found.st_mode) else None
    return None


def _hidden_in(layer: Path, parts: list[str]) -> bool:
    """True when ``layer`` whites out the path or one of its parents (0/0 char device)."""
    for depth in range(1, len(parts) + 1):
        try:
            found = os.lstat(layer.joinpath(*parts[:depth]))
        except (FileNotFoundError, NotADirectoryError):
            return False
        if stat.S_ISCHR(found.st_mode) and found.st_rdev == 0:
            return True
        if layer.joinpath(*parts[: depth - 1], WHITEOUT_PREFIX + parts[depth - 1]).exists():
            return True
    return False


def _opaque_above(layer: Path, parts: list[str]) -> bool:
    for depth in range(len(parts) - 1, 0, -1):
        directory = layer.joinpath(*parts[:depth])
        try:
            if os.getxattr(directory, OPAQUE_XATTR, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _tree_usage(roots: Iterable[Path]) -> DiskUsage:
    used = inodes = 0
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            inodes += len(dirnames) + len(filenames)
            for name in filenames:
                try:
                    used += os.lstat(os.path.join(directory, name)).st_blocks * 512
                except FileNotFoundError:
                    continue
    return DiskUsage(used_bytes=used, inodes_used=inodes)
