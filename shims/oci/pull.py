"""Pulling an image into the store: resolve, fetch manifest and config, fetch and unpack layers.

Concurrent pulls of one reference share one pull, and concurrent pulls of images sharing a layer
share its download and unpack. A cancelled pull (a CRI deadline) stops its downloads and unpack
threads and removes their partial files; the image record is written only once everything is in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shims.oci.auth import Credentials
from shims.oci.content import Descriptor, DigestMismatch
from shims.oci.decompress import Readable
from shims.oci.feed import ChunkFeed
from shims.oci.hosts import Endpoint
from shims.oci.manifest import (
    GZIP_LAYERS,
    INDEX_TYPES,
    UnsupportedContent,
    parse_config,
    parse_manifest,
    select_platform,
)
from shims.oci.records import ImageRecord, chain_ids
from shims.oci.reference import Reference, parse
from shims.oci.registry import FetchedManifest, RegistryClient
from shims.oci.singleflight import SingleFlight
from shims.oci.store import ImageStore
from shims.oci.unpack import DEFAULT_MAX_ENTRY_BYTES, CorruptLayer, UnpackResult, unpack_stream

log = logging.getLogger(__name__)

DOWNLOAD_CONCURRENCY = 8


@dataclass(frozen=True, kw_only=True, slots=True)
class _LayerJob:
    ref: Reference
    blob: Descriptor
    diff_id: str
    chain_id: str
    credentials: Credentials | None
    endpoint: Endpoint


class Puller:
    def __init__(
        self, store: ImageStore, client: RegistryClient, *, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
    ) -> None:
        self._store = store
        self._client = client
        self._max_entry_bytes = max_entry_bytes
        self._images: SingleFlight[ImageRecord] = SingleFlight()
        self._layers: SingleFlight[None] = SingleFlight()
        self._downloads = asyncio.Semaphore(DOWNLOAD_CONCURRENCY)

    async def pull(self, text: str, *, credentials: Credentials | None = None) -> ImageRecord:
        ref = parse(text)
        return await self._images.run(str(ref), lambda: self._pull(ref, credentials))

    async def _pull(self, ref: Reference, credentials: Credentials | None) -> ImageRecord:
        top = await self._client.fetch_manifest(ref, credentials=credentials)
        fetched = top
        if top.descriptor.media_type in INDEX_TYPES:
            platform = select_platform(top.data)
            fetched = await self._client.fetch_manifest(
                ref, credentials=credentials, reference=platform.digest
            )
        manifest = parse_manifest(fetched.data, fetched.descriptor.media_type)
        held = [
            fetched.descriptor.digest,
            manifest.config.digest,
            *(layer.digest for layer in manifest.layers),
        ]
        with self._holding(held) as hold:
            await asyncio.to_thread(self._store.content.put, fetched.data, fetched.descriptor)
            config_bytes = await self._fetch_small(ref, manifest.config, credentials, fetched)
            config = parse_config(config_bytes)
            if len(config.diff_ids) != len(manifest.layers):
                raise UnsupportedContent(
                    f"{ref}: config lists {len(config.diff_ids)} layers, the manifest {len(manifest.layers)}"
                )
            chains = chain_ids(config.diff_ids)
            hold(chains)
            await _all_or_none(
                self._layer(_LayerJob(ref=ref, blob=blob, diff_id=diff_id, chain_id=chain_id,
                                      credentials=credentials, endpoint=fetched.endpoint))
                for blob, diff_id, chain_id in zip(manifest.layers, config.diff_ids, chains, strict=True)
            )  # fmt: skip
            record = ImageRecord(
                id=manifest.config.digest, manifest=fetched.descriptor, config=manifest.config,
                layers=manifest.layers, diff_ids=config.diff_ids,
                repo_tags=(ref.tagged,) if ref.tag and not ref.digest else (),
                repo_digests=(f"{ref.repository}@{top.descriptor.digest}",),
            )  # fmt: skip
            async with self._store.lock:
                stored = await asyncio.to_thread(self._store.add, record)
        log.info("pulled %s as %s", ref, stored.id)
        return stored

    @contextmanager
    def _holding(self, keys: list[str]) -> Iterator[Callable[[tuple[str, ...]], None]]:
        held = list(keys)
        self._store.in_use.update(held)

        def hold(more: tuple[str, ...]) -> None:
            held.extend(more)
            self._store.in_use.update(more)

        try:
            yield hold
        finally:
            self._store.in_use.subtract(held)
            self._store.in_use += type(self._store.in_use)()  # drops the zero counts

    async def _fetch_small(
        self, ref: Reference, blob: Descriptor, credentials: Credentials | None, fetched: FetchedManifest
    ) -> bytes:
        content = self._store.content
        if not content.has(blob):
            with content.writer(blob) as writer:
                await self._client.fetch_blob(
                    ref, blob, writer, credentials=credentials, prefer=fetched.endpoint
                )
                await asyncio.to_thread(writer.commit)
        return content.read(blob)

    async def _layer(self, job: _LayerJob) -> None:
        if self._store.layer_dir(job.chain_id).is_dir():
            return
        await self._layers.run(job.chain_id, lambda: self._fetch_and_unpack(job))

    async def _fetch_and_unpack(self, job: _LayerJob) -> None:
        """Unpack the layer in a worker thread while it downloads; verify both digests; commit both."""
        temp = self._store.layers_dir / f".tmp-{uuid.uuid4().hex}"
        try:
            if self._store.content.has(job.blob):
                await self._unpack_stored(job, temp)
            else:
                async with self._downloads:
                    await self._download_unpacking(job, temp)
            target = self._store.layer_dir(job.chain_id)
            if not target.exists():
                os.replace(temp, target)
        finally:
            if temp.exists():
                await asyncio.to_thread(shutil.rmtree, temp, True)

    async def _unpack_stored(self, job: _LayerJob, temp: Path) -> None:
        def unpack(should_stop: Callable[[], bool]) -> None:
            with self._store.content.path(job.blob.digest).open("rb") as source:
                _verify_blob(job, self._unpack_from(source, temp, job, should_stop=should_stop))

        await _in_worker_thread(unpack)

    async def _download_unpacking(self, job: _LayerJob, temp: Path) -> None:
        """The loop only receives: the worker thread hashes, stores and unpacks what the feed brings."""
        feed = ChunkFeed()
        with self._store.content.writer(job.blob, hash_later=True) as writer:

            def unpack_and_commit(should_stop: Callable[[], bool]) -> None:
                try:
                    result = self._unpack_from(feed, temp, job, should_stop=should_stop, tee=writer.write)
                finally:
                    feed.reader_gone()
                _verify_blob(job, result)
                writer.commit(computed_digest=result.blob_digest)

            async def download() -> None:
                await self._client.fetch_blob(
                    job.ref, job.blob, feed, credentials=job.credentials, prefer=job.endpoint
                )
                await feed.end()

            await _all_or_none([_in_worker_thread(unpack_and_commit, on_cancel=feed.abort), download()])

    def _unpack_from(
        self, source: Readable, temp: Path, job: _LayerJob, *, should_stop: Callable[[], bool],
        tee: Callable[[bytes], object] | None = None,
    ) -> UnpackResult:  # fmt: skip
        try:
            return unpack_stream(
                source, temp, gzipped=job.blob.media_type in GZIP_LAYERS,
                max_entry_bytes=self._max_entry_bytes, should_stop=should_stop, tee=tee,
            )  # fmt: skip
        except CorruptLayer as exc:
            raise DigestMismatch(f"layer blob {job.blob.digest} is corrupt: {exc.message}") from None


async def _in_worker_thread(
    work: Callable[[Callable[[], bool]], None], *, on_cancel: Callable[[], None] = lambda: None
) -> None:
    """Run ``work(should_stop)`` in a thread; cancelling waits for it to notice ``should_stop`` and end.

    ``on_cancel`` wakes the thread if it may be waiting for input (e.g. aborts its feed)."""
    stop = threading.Event()
    running = asyncio.ensure_future(asyncio.to_thread(work, stop.is_set))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        stop.set()
        on_cancel()
        await asyncio.wait({running})
        raise


def _verify_blob(job: _LayerJob, result: UnpackResult) -> None:
    if result.blob_digest != job.blob.digest:
        raise DigestMismatch(f"layer blob {job.blob.digest} arrived as {result.blob_digest}")
    if result.diff_id != job.diff_id:
        raise DigestMismatch(
            f"layer {job.blob.digest} unpacked to {result.diff_id}, the config says {job.diff_id}"
        )


async def _all_or_none(jobs: Iterable[Coroutine[object, object, None]]) -> None:
    """Run jobs concurrently; the first failure cancels (and awaits) the rest, then is raised as is."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
