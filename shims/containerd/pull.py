"""PullImage into containerd's stores: our registry client fetches, containerd keeps.

Blobs go into containerd's content store with the garbage-collection labels containerd's own pull
sets, layers are unpacked through its diff service onto overlayfs snapshots named by chain ID, and
the image record gets the names containerd's CRI gives it (tag, repo digest, image ID). All of it
happens under one lease, so a pull that dies half way leaves nothing containerd keeps for ever.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

from cri.errors import AlreadyExists, NotFound
from shims.containerd.client import Client, ImageRecord
from shims.containerd.client.content import Source
from shims.oci.auth import Credentials
from shims.oci.content import Descriptor, DigestMismatch
from shims.oci.hosts import Endpoint
from shims.oci.manifest import (
    INDEX_TYPES,
    Manifest,
    UnsupportedContent,
    parse_config,
    parse_manifest,
    select_platform,
)
from shims.oci.records import chain_ids
from shims.oci.reference import Reference, parse
from shims.oci.registry import FetchedManifest, RegistryClient
from shims.oci.singleflight import SingleFlight

log = logging.getLogger(__name__)

MANAGED_LABEL = "io.cri-containerd.image"
"""containerd's CRI marks the image records it manages with this label, value ``managed``."""
UNCOMPRESSED_LABEL = "containerd.io/uncompressed"
QUEUED_CHUNKS = 16
MAX_DOWNLOADS = 3
"""Layers fetched at once, as containerd's own default (``max_concurrent_downloads``)."""


class Puller:
    """Pulls into one containerd namespace; concurrent pulls of one reference share one download."""

    def __init__(self, client: Client, registry: RegistryClient) -> None:
        self._client = client
        self._registry = registry
        self._flights: SingleFlight[str] = SingleFlight()
        self._downloads = asyncio.Semaphore(MAX_DOWNLOADS)

    async def pull(self, text: str, *, credentials: Credentials | None = None) -> str:
        """Pull the image ``text`` names; its image ID (the config's digest)."""
        ref = parse(text)
        return await self._flights.run(str(ref), lambda: self._pull(ref, credentials))

    async def _pull(self, ref: Reference, credentials: Credentials | None) -> str:
        async with self._client.leases.held():
            top = await self._registry.fetch_manifest(ref, credentials=credentials)
            fetched = top
            if top.descriptor.media_type in INDEX_TYPES:
                chosen = select_platform(top.data)
                fetched = await self._registry.fetch_manifest(
                    ref, credentials=credentials, reference=chosen.digest
                )
            manifest = parse_manifest(fetched.data, fetched.descriptor.media_type)
            fetch = _Fetch(self._registry, ref, credentials, fetched.endpoint)
            await self._store_image(fetch, top, fetched, manifest)
            await self._name(ref, top.descriptor, manifest.config.digest)
        log.info(
            "pulled %s as %s into containerd namespace %s",
            ref,
            manifest.config.digest,
            self._client.namespace,
        )
        return manifest.config.digest

    async def _store_image(
        self, fetch: _Fetch, top: FetchedManifest, fetched: FetchedManifest, manifest: Manifest
    ) -> None:
        config_bytes = await self._blob_bytes(fetch, manifest.config)
        config = parse_config(config_bytes)
        if len(config.diff_ids) != len(manifest.layers):
            counts = f"config lists {len(config.diff_ids)} layers, the manifest {len(manifest.layers)}"
            raise UnsupportedContent(f"{fetch.ref}: {counts}")
        chains = chain_ids(config.diff_ids)
        async with asyncio.TaskGroup() as work:  # each layer unpacks as soon as it and those below are in
            stored = [
                work.create_task(self._download(layer, fetch.source(layer), {UNCOMPRESSED_LABEL: diff_id}))
                for layer, diff_id in zip(manifest.layers, config.diff_ids, strict=True)
            ]
            work.create_task(self._unpack(manifest.layers, config.diff_ids, chains, stored))
        snapshot_label = f"containerd.io/gc.ref.snapshot.{self._client.snapshots.snapshotter}"
        await self._store(
            manifest.config, _bytes(config_bytes), {snapshot_label: chains[-1]} if chains else {}
        )
        references = {"containerd.io/gc.ref.content.config": manifest.config.digest}
        references |= {
            f"containerd.io/gc.ref.content.l.{i}": layer.digest for i, layer in enumerate(manifest.layers)
        }
        await self._store(fetched.descriptor, _bytes(fetched.data), references)
        if top is not fetched:
            index_refs = {"containerd.io/gc.ref.content.m.0": fetched.descriptor.digest}
            await self._store(top.descriptor, _bytes(top.data), index_refs)

    async def _blob_bytes(self, fetch: _Fetch, blob: Descriptor) -> bytes:
        try:
            return await self._client.content.read_all(blob.digest)
        except NotFound:
            chunks = [chunk async for chunk in fetch.source(blob)(0)]
            return b"".join(chunks)

    async def _download(self, blob: Descriptor, source: Source, labels: dict[str, str]) -> None:
        """A layer, with at most MAX_DOWNLOADS at a time (in manifest order, so the bottom layer,
        which unpacks first, is not slowed by the others)."""
        async with self._downloads:
            await self._store(blob, source, labels)

    async def _store(self, blob: Descriptor, source: Source, labels: dict[str, str]) -> None:
        ref = f"tinykube-{blob.digest}"
        if not await self._client.content.write(ref, blob, source, labels=labels) and labels:
            await self._client.content.set_labels(blob.digest, labels)

    async def _unpack(
        self,
        layers: tuple[Descriptor, ...],
        diff_ids: tuple[str, ...],
        chains: tuple[str, ...],
        stored: list[asyncio.Task[None]],
    ) -> None:
        """Each layer applied onto a snapshot of the ones below it, committed under its chain ID."""
        snapshots = self._client.snapshots
        parent = ""
        for layer, diff_id, chain, layer_stored in zip(layers, diff_ids, chains, stored, strict=True):
            await layer_stored
            if not await self._has_snapshot(chain):
                key = f"extract-{secrets.token_hex(6)} {chain}"
                mounts = await snapshots.prepare(key, parent)
                try:
                    applied = await self._client.diffs.apply(layer, mounts)
                    if applied.digest != diff_id:
                        raise DigestMismatch(
                            f"layer {layer.digest} unpacked to {applied.digest}, not {diff_id}"
                        )
                    await snapshots.commit(chain, key)
                except BaseException as exc:
                    await snapshots.remove(key)
                    if not isinstance(exc, AlreadyExists):  # a concurrent pull committed it first
                        raise
            parent = chain

    async def _has_snapshot(self, name: str) -> bool:
        try:
            await self._client.snapshots.stat(name)
        except NotFound:
            return False
        return True

    async def _name(self, ref: Reference, target: Descriptor, image_id: str) -> None:
        """The image's names as containerd's CRI keeps them: tag, repo digest and image ID."""
        names = [f"{ref.repository}@{target.digest}", image_id]
        if ref.tag and not ref.digest:
            names.insert(0, ref.tagged)
        for name in names:
            record = ImageRecord(name=name, target=target, labels={MANAGED_LABEL: "managed"})
            try:
                await self._client.images.create(record)
            except AlreadyExists:
                await self._client.images.update(record)


class _Fetch:
    """Blobs of one image from the registry, as content-write sources."""

    def __init__(
        self, registry: RegistryClient, ref: Reference, credentials: Credentials | None, endpoint: Endpoint
    ) -> None:
        self._registry = registry
        self.ref = ref
        self._credentials = credentials
        self._endpoint = endpoint

    def source(self, blob: Descriptor) -> Source:
        """The blob from the registry; a resumed write skips what containerd already has (the
        registry client always sends the whole blob)."""

        async def from_offset(offset: int) -> AsyncIterator[bytes]:
            queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUED_CHUNKS)
            download = asyncio.ensure_future(self._download(blob, queue))
            skip = offset
            try:
                while (chunk := await queue.get()) is not None:
                    if skip >= len(chunk):
                        skip -= len(chunk)
                        continue
                    yield chunk[skip:]
                    skip = 0
                await download
            finally:
                download.cancel()

        return from_offset

    async def _download(self, blob: Descriptor, queue: asyncio.Queue[bytes | None]) -> None:
        try:
            await self._registry.fetch_blob(
                self.ref, blob, _QueueSink(queue), credentials=self._credentials, prefer=self._endpoint
            )
        finally:
            await queue.put(None)


class _QueueSink:
    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._queue = queue

    async def put(self, chunk: bytes, /) -> None:
        await self._queue.put(chunk)


def _bytes(data: bytes) -> Source:
    async def from_offset(offset: int) -> AsyncIterator[bytes]:
        yield data[offset:]

    return from_offset
