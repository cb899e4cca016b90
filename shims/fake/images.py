"""The fake ImageService: images are records; a pull of a well-formed reference always succeeds."""

from __future__ import annotations

import dataclasses
import hashlib
import time

from cri import domain as d
from cri.errors import InvalidArgument
from shims.fake.faults import Faults

DEFAULT_REGISTRY = "docker.io"


def normalize(reference: str) -> str:
    """``busybox`` → ``docker.io/library/busybox:latest``; digests and explicit hosts kept."""
    if not reference or reference != reference.strip() or any(c.isupper() for c in reference.split("@")[0]):
        raise InvalidArgument(f"invalid image reference {reference!r}")
    name, at, digest = reference.partition("@")
    first, slash, _ = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        name = f"{DEFAULT_REGISTRY}/{name}" if slash else f"{DEFAULT_REGISTRY}/library/{name}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not at:
        name += ":latest"
    return f"{name}@{digest}" if at else name


def _repository(reference: str) -> str:
    name = reference.split("@")[0]
    head, slash, last = name.rpartition("/")
    return f"{head}{slash}{last.split(':')[0]}"


class FakeImages:
    """Implements ``cri.backend.ImageBackend`` in memory."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._images: dict[str, d.Image] = {}

    def add_image(self, *tags: str, size: int = 1_000_000, uid: int | None = None, username: str = "") -> str:
        """Seed an image under ``tags`` (all the same image); returns its id."""
        normalized = tuple(normalize(tag) for tag in tags)
        image_id = "sha256:" + hashlib.sha256(normalized[0].encode()).hexdigest()
        digest = "sha256:" + hashlib.sha256(image_id.encode()).hexdigest()
        existing = self._images.get(image_id)
        repo_tags = tuple(dict.fromkeys((*(existing.repo_tags if existing else ()), *normalized)))
        self._images[image_id] = d.Image(
            id=image_id,
            repo_tags=repo_tags,
            repo_digests=tuple(dict.fromkeys(f"{_repository(tag)}@{digest}" for tag in repo_tags)),
            size=size,
            uid=uid,
            username=username,
            spec=d.ImageSpec(image=image_id),
        )
        return image_id

    def find(self, reference: str) -> d.Image | None:
        if reference.startswith("sha256:") or (len(reference) >= 12 and _is_hex(reference)):
            hex_id = reference.removeprefix("sha256:")
            matches = [i for i in self._images.values() if i.id.removeprefix("sha256:").startswith(hex_id)]
            return matches[0] if len(matches) == 1 else None
        wanted = normalize(reference)
        for image in self._images.values():
            if wanted in image.repo_tags or wanted in image.repo_digests:
                return image
        return None

    async def list_images(self, filter_: d.ImageFilter | None) -> list[d.Image]:
        self.faults.enter("list_images", filter_)
        if filter_ is not None and filter_.image is not None and filter_.image.image:
            found = self.find(filter_.image.image)
            return [found] if found else []
        return list(self._images.values())

    async def image_status(self, image: d.ImageSpec, *, verbose: bool) -> d.ImageStatusResult:
        self.faults.enter("image_status", image)
        found = self.find(image.image)
        info = {"info": '{"fake": true}'} if verbose and found else {}
        return d.ImageStatusResult(image=found, info=info)

    async def pull_image(
        self, image: d.ImageSpec, auth: d.AuthConfig | None, sandbox_config: d.PodSandboxConfig | None
    ) -> str:
        self.faults.enter("pull_image", image, auth)
        found = self.find(image.image)
        if found is not None and not image.image.startswith("sha256:"):
            return self.add_image(*found.repo_tags, normalize(image.image), size=found.size)
        return found.id if found else self.add_image(image.image)

    async def remove_image(self, image: d.ImageSpec) -> None:
        self.faults.enter("remove_image", image)
        found = self.find(image.image)
        if found is not None:
            del self._images[found.id]

    async def image_fs_info(self) -> d.ImageFsInfo:
        self.faults.enter("image_fs_info")
        usage = d.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=d.FilesystemIdentifier(mountpoint="/var/lib/tinykube/fake/images"),
            used_bytes=sum(image.size for image in self._images.values()),
            inodes_used=len(self._images),
        )
        return d.ImageFsInfo(image_filesystems=(usage,), container_filesystems=(dataclasses.replace(usage),))


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
