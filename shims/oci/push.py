"""Push built images (and indexes) to a registry under one or more tags."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from shims.oci.auth import Credentials
from shims.oci.builder import BuiltImage, BuiltIndex
from shims.oci.reference import Reference, parse
from shims.oci.registry import RegistryClient


async def push_image(
    client: RegistryClient, image: BuiltImage, refs: Iterable[str], *, credentials: Credentials | None = None
) -> str:
    """Upload blobs (skipping those present) and tag the manifest as each of ``refs``; returns its digest."""
    parsed = [parse(ref) for ref in refs]
    for ref in _one_per_repository(parsed):
        uploads = [client.push_blob(ref, desc, blob, credentials=credentials) for desc, blob in image.blobs()]
        await asyncio.gather(*uploads)
    for ref in parsed:
        await client.push_manifest(
            ref, ref.tag or image.manifest.digest,
            media_type=image.manifest.media_type, data=image.manifest_bytes, credentials=credentials,
        )  # fmt: skip
    return image.manifest.digest


async def push_index(
    client: RegistryClient, index: BuiltIndex, refs: Iterable[str], *, credentials: Credentials | None = None
) -> str:
    parsed = [parse(ref) for ref in refs]
    for ref in _one_per_repository(parsed):
        for image in index.images:
            await push_image(
                client, image, [f"{ref.repository}@{image.manifest.digest}"], credentials=credentials
            )
    for ref in parsed:
        await client.push_manifest(
            ref, ref.tag or index.descriptor.digest,
            media_type=index.descriptor.media_type, data=index.data, credentials=credentials,
        )  # fmt: skip
    return index.descriptor.digest


def _one_per_repository(refs: list[Reference]) -> list[Reference]:
    return list({ref.repository: ref for ref in refs}.values())
