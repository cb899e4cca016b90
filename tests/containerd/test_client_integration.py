"""The containerd client against the real containerd on /run/containerd/containerd.sock."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from cri.errors import AlreadyExists, FailedPrecondition, NotFound
from shims.containerd.client import Client, Event, ImageRecord
from shims.containerd.client.connection import connect
from shims.containerd.client.content import CHUNK_BYTES, Source
from shims.containerd.client.events import Subscribed
from shims.containerd.client.namespaces import Namespaces
from shims.oci.content import Descriptor

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd")]

MEDIA = "application/octet-stream"


def blob(data: bytes) -> Descriptor:
    return Descriptor(media_type=MEDIA, digest="sha256:" + hashlib.sha256(data).hexdigest(), size=len(data))


def source_of(data: bytes, chunk: int = 7) -> Source:
    async def source(offset: int) -> AsyncIterator[bytes]:
        for start in range(offset, len(data), chunk):
            yield data[start : start + chunk]

    return source


async def test_every_call_is_scoped_to_the_clients_namespace(client: Client) -> None:
    data = b"only in one namespace"
    async with client.leases.held():
        assert await client.content.write("scoped", blob(data), source_of(data))
        await client.images.create(ImageRecord(name="example.test/scoped:1", target=blob(data)))
    async with connect(client.connection.address, namespace="default") as other:
        from shims.containerd.client.images import Images

        names = [image.name for image in await Images(other).list()]
    assert "example.test/scoped:1" not in names
    assert [image.name for image in await client.images.list()] == ["example.test/scoped:1"]


async def test_content_write_is_verified_resumable_and_idempotent(client: Client) -> None:
    data = bytes(range(256)) * 40
    expected = blob(data)
    async with client.leases.held(collect=True):
        assert await client.content.write("blob-1", expected, source_of(data, 1000))
        assert await client.content.read_all(expected.digest) == data
        assert not await client.content.write("blob-1-again", expected, source_of(data))
    assert await client.content.list() == []  # only the lease held it


async def test_an_interrupted_write_resumes_from_containerds_offset(client: Client) -> None:
    data = bytes(range(256)) * (3 * CHUNK_BYTES // 256) + b"tail"
    expected = blob(data)
    broken_at = CHUNK_BYTES + 500  # containerd has received the first full piece by then
    offsets: list[int] = []

    async def breaking(offset: int) -> AsyncIterator[bytes]:
        offsets.append(offset)
        yield data[offset:broken_at]
        if len(offsets) == 1:
            raise ConnectionResetError("registry went away")
        yield data[broken_at:]

    async with client.leases.held():
        with pytest.raises(ConnectionResetError):
            await client.content.write("resumable", expected, breaking)
        assert await client.content.ingests() == ["resumable"]
        assert await client.content.write("resumable", expected, breaking)
        assert offsets == [0, CHUNK_BYTES]
        assert await client.content.read_all(expected.digest) == data
        assert await client.content.ingests() == []


async def test_a_blob_that_is_not_what_was_expected_is_refused(client: Client) -> None:
    data = b"the real bytes"
    claimed = Descriptor(media_type=MEDIA, digest=blob(b"other bytes!!!").digest, size=len(data))
    async with client.leases.held():
        with pytest.raises(FailedPrecondition):
            await client.content.write("wrong", claimed, source_of(data))
        await client.content.abort("wrong")
    with pytest.raises(NotFound):
        await client.content.info(claimed.digest)


async def test_labels_keep_content_after_the_lease_goes(client: Client) -> None:
    data = b"kept by an image"
    async with client.leases.held():
        await client.content.write("kept", blob(data), source_of(data))
        await client.images.create(ImageRecord(name="example.test/kept:1", target=blob(data)))
        await client.content.set_labels(blob(data).digest, {"example.test/mark": "yes"})
    info = await client.content.info(blob(data).digest)
    assert info.labels["example.test/mark"] == "yes"
    assert (await client.images.get("example.test/kept:1")).target == blob(data)


async def test_errors_come_back_as_the_shims_error_tree(client: Client) -> None:
    with pytest.raises(NotFound, match="containerd: "):
        await client.images.get("example.test/missing:1")
    with pytest.raises(NotFound):
        await client.snapshots.stat("missing")
    await client.leases.create("twice")
    with pytest.raises(AlreadyExists):
        await client.leases.create("twice")
    await client.images.create(ImageRecord(name="example.test/held:1", target=blob(b"held")))
    with pytest.raises(FailedPrecondition):
        await Namespaces(client.connection).delete(client.namespace)  # it holds an image


async def test_a_layer_unpacks_into_a_committed_snapshot(client: Client) -> None:
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        member = tarfile.TarInfo("hello.txt")
        member.size = 5
        archive.addfile(member, io.BytesIO(b"hello"))
    layer_bytes = gzip.compress(raw.getvalue(), mtime=0)
    layer = Descriptor(
        media_type="application/vnd.oci.image.layer.v1.tar+gzip",
        digest=blob(layer_bytes).digest,
        size=len(layer_bytes),
    )
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    async with client.leases.held():
        await client.content.write("layer", layer, source_of(layer_bytes, 4096))
        mounts = await client.snapshots.prepare("extract-1", "")
        applied = await client.diffs.apply(layer, mounts)
        await client.snapshots.commit(diff_id, "extract-1")
        info = await client.snapshots.stat(diff_id)
    assert applied.digest == diff_id
    assert info.kind == "committed"


async def test_events_of_the_namespace_arrive_decoded_once_subscribed(client: Client) -> None:
    stream = client.events(f'namespace=="{client.namespace}"')
    try:
        async with asyncio.timeout(30):
            assert isinstance(await anext(stream), Subscribed)
            # an image record may name content containerd does not have
            await client.images.create(ImageRecord(name="example.test/e:1", target=blob(b"an event")))
            event = await anext(stream)
    finally:
        await stream.aclose()
    assert isinstance(event, Event)
    assert event.topic == "/images/create"
    assert event.namespace == client.namespace
    # containerd's image events live in the images service's proto package, unlike the others
    assert type(event.payload).DESCRIPTOR.full_name == "containerd.services.images.v1.ImageCreate"
    assert getattr(event.payload, "name") == "example.test/e:1"  # noqa: B009
