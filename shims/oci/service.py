"""The CRI ImageService over the OCI image store, and the image view a runtime needs.

``OciImages`` implements ``cri.backend.ImageBackend`` (ListImages, ImageStatus, PullImage,
RemoveImage, ImageFsInfo) and ``resolve`` (config, overlayfs lower dirs, passwd/group texts) for the
runc shim. Open it with ``async with OciImages.open(ImageStoreConfig(...)) as images``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d
from cri.errors import NotFound
from cri.exhaustion import writing
from shims.node.ocispec import ImageProcess
from shims.oci.auth import credentials_from
from shims.oci.manifest import ImageConfig
from shims.oci.pull import Puller
from shims.oci.records import ImageRecord
from shims.oci.registry import RegistryClient
from shims.oci.store import ImageStore

DEFAULT_ROOT = Path("/var/lib/tinykube/images")
DEFAULT_CERTS_D = Path("/etc/containerd/certs.d")


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageStoreConfig:
    root: Path = DEFAULT_ROOT
    certs_d: Path | None = DEFAULT_CERTS_D
    insecure_registries: tuple[str, ...] = ()
    """Hosts reached over plain HTTP besides loopback (which always is)."""
    pinned_images: tuple[str, ...] = ("registry.k8s.io/pause:3.10",)
    """Normalised tags reported ``pinned`` (the sandbox image), as containerd does."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedImage:
    """What a runtime needs to start a container from an image."""

    id: str
    ref: str
    lower_dirs: tuple[Path, ...]
    """Top layer first, as overlayfs ``lowerdir`` wants them."""
    process: ImageProcess
    config: ImageConfig
    passwd: str
    """The image's ``/etc/passwd`` ("" when it has none): feed to ``shims.node.identity``."""
    group: str


class OciImages:
    def __init__(self, config: ImageStoreConfig, store: ImageStore, puller: Puller) -> None:
        self._config = config
        self.store = store
        self._puller = puller

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, config: ImageStoreConfig) -> AsyncIterator[OciImages]:
        store = await asyncio.to_thread(ImageStore, config.root)
        async with RegistryClient(certs_d=config.certs_d, insecure=config.insecure_registries) as client:
            yield cls(config, store, Puller(store, client))

    # ---- ImageBackend --------------------------------------------------------------------------

    async def list_images(self, filter_: d.ImageFilter | None) -> list[d.Image]:
        wanted = filter_.image.image if filter_ is not None and filter_.image is not None else ""
        records = self.store.records() if not wanted else [r for r in [self.store.find(wanted)] if r]
        return [await self._to_image(record) for record in records]

    async def image_status(self, image: d.ImageSpec, *, verbose: bool) -> d.ImageStatusResult:
        record = self.store.find(image.image)
        if record is None:
            return d.ImageStatusResult()
        info = {"info": json.dumps(await self._verbose_info(record))} if verbose else {}
        return d.ImageStatusResult(image=await self._to_image(record), info=info)

    async def pull_image(
        self, image: d.ImageSpec, auth: d.AuthConfig | None, sandbox_config: d.PodSandboxConfig | None
    ) -> str:
        with writing(f"PullImage {image.image!r} into the image store", self.store.root):
            record = await self._puller.pull(image.image, credentials=credentials_from(auth))
        return record.id

    async def remove_image(self, image: d.ImageSpec) -> None:
        await self.store.remove(image.image)

    async def image_fs_info(self) -> d.ImageFsInfo:
        usage = await asyncio.to_thread(self.store.usage)
        filesystem = d.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=d.FilesystemIdentifier(mountpoint=str(usage.mountpoint)),
            used_bytes=usage.used_bytes,
            inodes_used=usage.inodes_used,
        )
        return d.ImageFsInfo(image_filesystems=(filesystem,), container_filesystems=(filesystem,))

    # ---- the runtime's view --------------------------------------------------------------------

    async def layers_released(self) -> None:
        await self.store.collect_released_layers()

    async def resolve(self, reference: str) -> ResolvedImage:
        """The image a container runs; NotFound when it is not in the store (pull it first)."""
        record = self.store.find(reference)
        if record is None:
            raise NotFound(f"image {reference!r} not found: pull it first")
        return await asyncio.to_thread(self._resolve, record, reference)

    def _resolve(self, record: ImageRecord, reference: str) -> ResolvedImage:
        config = self.store.config(record)
        process = ImageProcess(
            entrypoint=config.entrypoint, cmd=config.cmd, env=config.env,
            working_dir=config.working_dir, user=config.user,
        )  # fmt: skip
        return ResolvedImage(
            id=record.id, ref=reference, lower_dirs=self.store.lower_dirs(record),
            process=process, config=config,
            passwd=_text(self.store.read_file(record, "etc/passwd")),
            group=_text(self.store.read_file(record, "etc/group")),
        )  # fmt: skip

    # ---- conversion ----------------------------------------------------------------------------

    async def _to_image(self, record: ImageRecord) -> d.Image:
        config = await asyncio.to_thread(self.store.config, record)
        uid, username = user_of(config.user)
        return d.Image(
            id=record.id, repo_tags=record.repo_tags, repo_digests=record.repo_digests, size=record.size,
            uid=uid, username=username, spec=d.ImageSpec(image=record.id),
            pinned=any(tag in self._config.pinned_images for tag in record.repo_tags),
        )  # fmt: skip

    async def _verbose_info(self, record: ImageRecord) -> dict[str, object]:
        config = await asyncio.to_thread(self.store.config, record)
        return {
            "imageSpec": dict(config.raw),
            "chainID": record.chain_ids[-1] if record.chain_ids else "",
            "manifestDigest": record.manifest.digest,
            "layers": [layer.digest for layer in record.layers],
        }


def user_of(user: str) -> tuple[int | None, str]:
    """Image USER -> (uid, username) as the CRI reports them: only the user part, never the group."""
    name = user.split(":", 1)[0]
    if not name:
        return None, ""
    if name.isdigit():
        return int(name), ""
    return None, name


def _text(data: bytes | None) -> str:
    return data.decode("utf-8", "replace") if data is not None else ""
