"""What the runtime needs from an image store, and a store of local root filesystem directories.

``LocalImages`` serves images that are already unpacked directories (configured ``ref -> dir``); it is
both the runtime's ``ImageSource`` and a CRI ``ImageBackend``. The OCI image store (``shims/oci``)
takes its place when it is available.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cri import domain as d
from cri.errors import InvalidArgument, NotFound
from shims.node.ocispec import ImageProcess


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedImage:
    id: str
    ref: str
    lower_dirs: tuple[Path, ...]
    """Top layer first, as overlayfs ``lowerdir`` wants them."""
    process: ImageProcess


class RuntimeImage(Protocol):
    """An image as the runtime uses it (``shims.oci.service.ResolvedImage`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def lower_dirs(self) -> tuple[Path, ...]: ...
    @property
    def process(self) -> ImageProcess: ...


class ImageSource(Protocol):
    async def resolve(self, reference: str) -> RuntimeImage:
        """The image a container runs; NotFound when it is not in the store."""
        ...

    async def layers_released(self) -> None:
        """A container unmounted the layers it ran on: those no image keeps any more may go."""
        ...


def normalize(reference: str) -> str:
    name = reference
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + (name if "/" in name else f"library/{name}")
    return name


_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
_IMAGE_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")


class LocalImages:
    """Images as unpacked rootfs directories; pulling one that is configured makes it present.

    Its ``repo_digests`` name the image id (there is no manifest); removing an image hides it until
    it is pulled again.
    """

    def __init__(self, rootfs_by_ref: Mapping[str, Path], *, process: ImageProcess | None = None) -> None:
        self._dirs = {normalize(ref): Path(path) for ref, path in rootfs_by_ref.items()}
        self._present = set(self._dirs)
        self._process = process or ImageProcess(cmd=("sh",))

    def _image_id(self, ref: str) -> str:
        return "sha256:" + hashlib.sha256(f"{ref}\0{self._dirs[ref]}".encode()).hexdigest()

    def _digest_ref(self, ref: str) -> str:
        return f"{ref.rsplit(':', 1)[0]}@{self._image_id(ref)}"

    def _find(self, reference: str, *, present_only: bool = True) -> str | None:
        if not (_REFERENCE.match(reference) or _IMAGE_ID.match(reference)):
            raise InvalidArgument(f"invalid image reference {reference!r}")
        wanted = reference.removeprefix("sha256:")
        for ref in self._present if present_only else self._dirs:
            by_id = _IMAGE_ID.match(reference) and self._image_id(ref)[7:].startswith(wanted)
            if normalize(reference) in (ref, self._digest_ref(ref)) or by_id:
                return ref
        return None

    def _image(self, ref: str) -> d.Image:
        return d.Image(
            id=self._image_id(ref),
            repo_tags=(ref,),
            repo_digests=(self._digest_ref(ref),),
            size=_tree_size(self._dirs[ref]),
            uid=0,
        )

    async def resolve(self, reference: str) -> ResolvedImage:
        ref = self._find(reference)
        if ref is None:
            raise NotFound(f"image {reference!r} not found: pull it first")
        lower = (self._dirs[ref],)
        return ResolvedImage(id=self._image_id(ref), ref=ref, lower_dirs=lower, process=self._process)

    async def layers_released(self) -> None:
        """Directories are configured, not collected: nothing to release."""

    async def list_images(self, filter_: d.ImageFilter | None) -> list[d.Image]:
        wanted = filter_.image.image if filter_ and filter_.image else ""
        return [self._image(ref) for ref in sorted(self._present) if not wanted or self._find(wanted) == ref]

    async def image_status(self, image: d.ImageSpec, *, verbose: bool) -> d.ImageStatusResult:
        ref = self._find(image.image)
        return d.ImageStatusResult(image=self._image(ref) if ref else None)

    async def pull_image(
        self, image: d.ImageSpec, auth: d.AuthConfig | None, sandbox_config: d.PodSandboxConfig | None
    ) -> str:
        ref = self._find(image.image, present_only=False)
        if ref is None:
            raise NotFound(f"image {image.image!r} is not among the local images")
        self._present.add(ref)
        return self._image_id(ref)

    async def remove_image(self, image: d.ImageSpec) -> None:
        ref = self._find(image.image)
        if ref is not None:
            self._present.discard(ref)

    async def image_fs_info(self) -> d.ImageFsInfo:
        usage = d.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=d.FilesystemIdentifier(mountpoint="/"),
            used_bytes=0,
            inodes_used=0,
        )
        return d.ImageFsInfo(image_filesystems=(usage,), container_filesystems=(usage,))


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
