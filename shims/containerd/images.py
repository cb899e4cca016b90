"""The CRI ImageService over containerd's image, content and snapshot stores.

containerd holds the truth: an image is the set of image records (tag, repo digest, image ID names)
whose targets resolve to one config digest, so an image pulled with ``ctr -n <namespace> image pull``
is listed like one pulled through CRI. Manifests and configs are content-addressed, so what was
read from the content store once is cached by digest.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d
from cri.errors import NotFound
from shims.containerd.client import Client, ImageRecord
from shims.containerd.pull import Puller
from shims.oci.auth import credentials_from
from shims.oci.content import Descriptor
from shims.oci.manifest import INDEX_TYPES, ImageConfig, parse_config, parse_manifest, select_platform
from shims.oci.records import chain_ids
from shims.oci.reference import InvalidReference, normalize
from shims.oci.registry import RegistryClient
from shims.oci.service import user_of

DEFAULT_CERTS_D = Path("/etc/tinykube/certs.d")
DEFAULT_SNAPSHOTTER_ROOT = Path("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs")
_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{1,64}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ImagesConfig:
    certs_d: Path | None = DEFAULT_CERTS_D
    insecure_registries: tuple[str, ...] = ()
    pinned_images: tuple[str, ...] = ("registry.k8s.io/pause:3.10",)
    """Normalised tags reported ``pinned`` (the sandbox image), as containerd does."""
    snapshotter_root: Path = DEFAULT_SNAPSHOTTER_ROOT
    """Reported as the image filesystem's mount point."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedTarget:
    """What an image record's target (manifest or index) comes to for this platform."""

    manifest: Descriptor
    config_descriptor: Descriptor
    layers: tuple[Descriptor, ...]
    config: ImageConfig

    @property
    def id(self) -> str:
        return self.config_descriptor.digest

    @property
    def size(self) -> int:
        return self.manifest.size + self.config_descriptor.size + sum(layer.size for layer in self.layers)

    @property
    def chain_id(self) -> str:
        chains = chain_ids(self.config.diff_ids)
        return chains[-1] if chains else ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredImage:
    """One image: its resolved target and every record naming it."""

    target: ResolvedTarget
    names: tuple[str, ...]

    @property
    def repo_tags(self) -> tuple[str, ...]:
        return tuple(name for name in self.names if "@" not in name and not name.startswith("sha256:"))

    @property
    def repo_digests(self) -> tuple[str, ...]:
        return tuple(name for name in self.names if "@" in name)


class ContainerdImages:
    """``cri.backend.ImageBackend`` over one containerd namespace."""

    def __init__(self, client: Client, puller: Puller, config: ImagesConfig) -> None:
        self._client = client
        self._puller = puller
        self._config = config
        self._targets: dict[str, ResolvedTarget] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, client: Client, config: ImagesConfig) -> AsyncIterator[ContainerdImages]:
        async with RegistryClient(certs_d=config.certs_d, insecure=config.insecure_registries) as registry:
            yield cls(client, Puller(client, registry), config)

    async def list_images(self, filter_: d.ImageFilter | None) -> list[d.Image]:
        wanted = filter_.image.image if filter_ is not None and filter_.image is not None else ""
        images = [await self.find(wanted)] if wanted else await self.stored()
        return [self._to_image(image) for image in images if image is not None]

    async def image_status(self, image: d.ImageSpec, *, verbose: bool) -> d.ImageStatusResult:
        found = await self.find(image.image)
        if found is None:
            return d.ImageStatusResult()
        info = {"info": json.dumps(_verbose_info(found))} if verbose else {}
        return d.ImageStatusResult(image=self._to_image(found), info=info)

    async def pull_image(
        self, image: d.ImageSpec, auth: d.AuthConfig | None, sandbox_config: d.PodSandboxConfig | None
    ) -> str:
        return await self._puller.pull(image.image, credentials=credentials_from(auth))

    async def remove_image(self, image: d.ImageSpec) -> None:
        """Every name of the image goes (the image ID last, after which containerd collects its
        content and snapshots); removing an image that is not there succeeds."""
        found = await self.find(image.image)
        if found is None:
            return
        names = sorted(found.names, key=lambda name: name == found.target.id)
        for position, name in enumerate(names, start=1):
            with contextlib.suppress(NotFound):
                await self._client.images.delete(name, sync=position == len(names))

    async def image_fs_info(self) -> d.ImageFsInfo:
        used_bytes = inodes = 0
        for snapshot in await self._client.snapshots.list():
            with contextlib.suppress(NotFound):
                size, count = await self._client.snapshots.usage(snapshot.name)
                used_bytes, inodes = used_bytes + size, inodes + count
        filesystem = d.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=d.FilesystemIdentifier(mountpoint=str(self._config.snapshotter_root)),
            used_bytes=used_bytes,
            inodes_used=inodes,
        )
        return d.ImageFsInfo(image_filesystems=(filesystem,), container_filesystems=(filesystem,))

    async def stored(self) -> list[StoredImage]:
        """Every image of the namespace whose content is complete enough to resolve."""
        return _grouped(await self._resolved(await self._client.images.list()))

    async def find(self, text: str) -> StoredImage | None:
        """The image a reference, an image ID or a unique prefix of one names."""
        if not text:
            return None
        images = await self.stored()
        name = _normalized(text)
        for image in images:
            if name in image.names or image.target.id == text:
                return image
        if _IMAGE_ID.fullmatch(text):
            prefix = text if text.startswith("sha256:") else f"sha256:{text}"
            matches = [image for image in images if image.target.id.startswith(prefix)]
            if len(matches) == 1:
                return matches[0]
        return None

    async def _resolved(self, records: Iterable[ImageRecord]) -> list[tuple[ImageRecord, ResolvedTarget]]:
        found = []
        for record in records:
            with contextlib.suppress(NotFound):
                found.append((record, await self.resolve_target(record.target)))
        return found

    async def resolve_target(self, target: Descriptor) -> ResolvedTarget:
        cached = self._targets.get(target.digest)
        if cached is None:
            cached = self._targets[target.digest] = await self._read_target(target)
        return cached

    async def _read_target(self, target: Descriptor) -> ResolvedTarget:
        content = self._client.content
        manifest_descriptor, data = target, await content.read_all(target.digest)
        if target.media_type in INDEX_TYPES:
            manifest_descriptor = select_platform(data)
            data = await content.read_all(manifest_descriptor.digest)
        manifest = parse_manifest(data, manifest_descriptor.media_type)
        config = parse_config(await content.read_all(manifest.config.digest))
        return ResolvedTarget(
            manifest=manifest_descriptor,
            config_descriptor=manifest.config,
            layers=manifest.layers,
            config=config,
        )

    def _to_image(self, image: StoredImage) -> d.Image:
        uid, username = user_of(image.target.config.user)
        return d.Image(
            id=image.target.id,
            repo_tags=image.repo_tags,
            repo_digests=image.repo_digests,
            size=image.target.size,
            uid=uid,
            username=username,
            spec=d.ImageSpec(image=image.target.id),
            pinned=any(tag in self._config.pinned_images for tag in image.repo_tags),
        )


def _grouped(resolved: list[tuple[ImageRecord, ResolvedTarget]]) -> list[StoredImage]:
    names: dict[str, list[str]] = {}
    targets: dict[str, ResolvedTarget] = {}
    for record, target in resolved:
        names.setdefault(target.id, []).append(record.name)
        targets.setdefault(target.id, target)
    return [StoredImage(target=targets[image_id], names=tuple(sorted(names[image_id]))) for image_id in names]


def _normalized(text: str) -> str:
    try:
        return normalize(text)
    except InvalidReference:
        return text


def _verbose_info(image: StoredImage) -> dict[str, object]:
    return {
        "imageSpec": dict(image.target.config.raw),
        "chainID": image.target.chain_id,
        "manifestDigest": image.target.manifest.digest,
        "layers": [layer.digest for layer in image.target.layers],
    }
