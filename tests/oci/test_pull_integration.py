"""Pulls from real docker-registry instances into a real store (root: unpacking chowns)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cri import domain as d
from cri.errors import FailedPrecondition, Internal, InvalidArgument, NotFound, Unavailable
from shims.oci import pull
from shims.oci.builder import ImageRecipe, build_image, build_index, file
from shims.oci.content import BlobWriter, Descriptor
from shims.oci.feed import ChunkFeed
from shims.oci.localregistry import RegistryHandle
from shims.oci.push import push_index
from shims.oci.reference import parse
from shims.oci.registry import RegistryClient
from shims.oci.service import ImageStoreConfig, OciImages
from tests.oci.conftest import PASSWORD, USER, free_port
from tests.oci.images import push, small_image

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("docker-registry")]


@contextlib.asynccontextmanager
async def open_images(tmp_path: Path, *, certs_d: Path | None = None) -> AsyncIterator[OciImages]:
    async with OciImages.open(ImageStoreConfig(root=tmp_path / "store", certs_d=certs_d)) as images:
        yield images


def spec(ref: str) -> d.ImageSpec:
    return d.ImageSpec(image=ref)


async def test_push_then_pull_round_trips_with_identical_digests(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    built = small_image("roundtrip", user="1234:5678")
    ref = f"{registry.address}/test/app:v1"
    assert await push(built, ref) == built.manifest.digest
    async with RegistryClient() as client:
        fetched = await client.fetch_manifest(parse(ref), credentials=None)
    assert fetched.data == built.manifest_bytes
    async with open_images(tmp_path) as images:
        image_id = await images.pull_image(spec(ref), None, None)
        assert image_id == built.image_id
        status = await images.image_status(spec(ref), verbose=True)
    assert status.image is not None
    assert status.image.repo_tags == (ref,)
    assert status.image.repo_digests == (f"{registry.address}/test/app@{built.manifest.digest}",)
    assert status.image.uid == 1234 and status.image.username == ""
    assert status.image.size == built.manifest.size + built.config.size + sum(
        x.descriptor.size for x in built.layers
    )
    assert '"chainID"' in status.info["info"]


async def test_pull_by_digest_and_find_by_id(tmp_path: Path, registry: RegistryHandle) -> None:
    built = small_image("bydigest")
    await push(built, f"{registry.address}/test/app:v1")
    by_digest = f"{registry.address}/test/app@{built.manifest.digest}"
    async with open_images(tmp_path) as images:
        assert await images.pull_image(spec(by_digest), None, None) == built.image_id
        for name in (built.image_id, built.image_id.removeprefix("sha256:"), built.image_id[7:19], by_digest):
            status = await images.image_status(spec(name), verbose=False)
            assert status.image is not None and status.image.id == built.image_id, name
        found = await images.image_status(spec(by_digest), verbose=False)
    assert found.image is not None and found.image.repo_tags == ()


async def test_an_index_resolves_to_linux_amd64(tmp_path: Path, registry: RegistryHandle) -> None:
    amd64, arm64 = small_image("amd64"), small_image("arm64")
    index = build_index([(arm64, "linux", "arm64"), (amd64, "linux", "amd64")])
    ref = f"{registry.address}/test/multi:latest"
    async with RegistryClient() as client:
        await push_index(client, index, [ref])
    async with open_images(tmp_path) as images:
        assert await images.pull_image(spec(ref), None, None) == amd64.image_id
        status = await images.image_status(spec(ref), verbose=False)
        resolved = await images.resolve(ref)
    assert status.image is not None
    assert status.image.repo_digests == (f"{registry.address}/test/multi@{index.descriptor.digest}",)
    assert resolved.config.cmd == ("/bin/app", "amd64")


async def test_basic_auth_registry_wants_the_right_credentials(
    tmp_path: Path, auth_registry: RegistryHandle
) -> None:
    from shims.oci.auth import Credentials

    built = small_image("secret")
    ref = f"{auth_registry.address}/private/app:v1"
    await push(built, ref, credentials=Credentials(username=USER, password=PASSWORD))
    async with open_images(tmp_path) as images:
        with pytest.raises(FailedPrecondition, match="username and password"):
            await images.pull_image(spec(ref), None, None)
        with pytest.raises(FailedPrecondition, match="refused"):
            await images.pull_image(spec(ref), d.AuthConfig(username=USER, password="wrong"), None)
        good = d.AuthConfig(username=USER, password=PASSWORD)
        assert await images.pull_image(spec(ref), good, None) == built.image_id


async def test_mirrors_are_tried_in_hosts_toml_order(
    tmp_path: Path, registry: RegistryHandle, second_registry: RegistryHandle
) -> None:
    only_in_second = small_image("only-in-second")
    in_both_first, in_both_second = small_image("first-copy"), small_image("second-copy")
    await push(only_in_second, f"{second_registry.address}/team/only:v1")
    await push(in_both_first, f"{registry.address}/team/both:v1")
    await push(in_both_second, f"{second_registry.address}/team/both:v1")
    certs_d = tmp_path / "certs.d"
    (certs_d / "docker.io").mkdir(parents=True)
    (certs_d / "docker.io" / "hosts.toml").write_text(
        'server = "https://registry-1.docker.io"\n'
        f'[host."http://127.0.0.1:{free_port()}"]\n  capabilities = ["pull", "resolve"]\n'
        f'[host."http://{registry.address}"]\n  capabilities = ["pull", "resolve"]\n'
        f'[host."http://{second_registry.address}"]\n  capabilities = ["pull", "resolve"]\n'
    )
    async with open_images(tmp_path, certs_d=certs_d) as images:
        assert await images.pull_image(spec("team/only:v1"), None, None) == only_in_second.image_id
        assert await images.pull_image(spec("team/both:v1"), None, None) == in_both_first.image_id
        status = await images.image_status(spec("docker.io/team/both:v1"), verbose=False)
    assert status.image is not None and status.image.repo_tags == ("docker.io/team/both:v1",)


async def test_a_corrupted_blob_is_rejected_and_nothing_is_kept(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    built = small_image("corrupt")
    ref = f"{registry.address}/test/corrupt:v1"
    await push(built, ref)
    layer_hex = built.layers[1].descriptor.digest.removeprefix("sha256:")
    blob = (
        tmp_path
        / "registry"
        / "data"
        / "docker/registry/v2/blobs/sha256"
        / layer_hex[:2]
        / layer_hex
        / "data"
    )
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    async with open_images(tmp_path) as images:
        with pytest.raises(Internal, match=built.layers[1].descriptor.digest):
            await images.pull_image(spec(ref), None, None)
        assert await images.image_status(spec(ref), verbose=False) == d.ImageStatusResult()
        assert list((tmp_path / "store" / "ingest").iterdir()) == []
        assert not [p for p in (tmp_path / "store" / "layers").iterdir() if p.name.startswith(".tmp")]


async def test_a_cancelled_pull_leaves_nothing_half_made(
    tmp_path: Path, registry: RegistryHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = small_image("cancelled", extra_bytes=64 << 20)
    ref = f"{registry.address}/test/cancel:v1"
    await push(built, ref)
    async with open_images(tmp_path) as images:
        fetching = asyncio.Event()
        open_writer = images.store.content.writer

        @contextlib.contextmanager
        def noticing_writer(
            expected: Descriptor | None = None, *, hash_later: bool = False
        ) -> Iterator[BlobWriter]:
            with open_writer(expected, hash_later=hash_later) as writer:
                if expected == built.layers[1].descriptor:
                    fetching.set()
                yield writer

        monkeypatch.setattr(images.store.content, "writer", noticing_writer)
        pull = asyncio.create_task(images.pull_image(spec(ref), None, None))
        await asyncio.wait_for(fetching.wait(), timeout=30)
        pull.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pull
        assert images.store.find(ref) is None
        assert list((tmp_path / "store" / "ingest").iterdir()) == []
        assert not [p for p in (tmp_path / "store" / "layers").iterdir() if p.name.startswith(".tmp")]
        assert await images.pull_image(spec(ref), None, None) == built.image_id


async def test_many_large_layers_pull_with_few_worker_threads(
    tmp_path: Path, registry: RegistryHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More layers than worker threads, each larger than its feed: waiting downloads hold no thread."""
    noise = random.Random(7)
    layers = tuple((file(f"data/{n}.bin", noise.randbytes(256 << 10)),) for n in range(10))
    built = build_image(ImageRecipe(layers=layers, cmd=("sh",)))
    ref = f"{registry.address}/test/many:v1"
    await push(built, ref)
    monkeypatch.setattr(pull, "ChunkFeed", functools.partial(ChunkFeed, max_bytes=16 << 10))
    with ThreadPoolExecutor(max_workers=2) as few_threads:
        asyncio.get_running_loop().set_default_executor(few_threads)
        async with open_images(tmp_path) as images:
            pulled = await asyncio.wait_for(images.pull_image(spec(ref), None, None), timeout=60)
            resolved = await images.resolve(ref)
    assert pulled == built.image_id
    assert [(d / "data" / f"{9 - n}.bin").stat().st_size for n, d in enumerate(resolved.lower_dirs)] == [
        256 << 10
    ] * 10


async def test_a_stored_blob_over_a_new_parent_is_unpacked_from_the_store(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    shared_top = (file("etc/shared", "same blob"),)
    first = build_image(ImageRecipe(layers=((file("etc/base", "one"),), shared_top), cmd=("sh",)))
    second = build_image(ImageRecipe(layers=((file("etc/base", "two"),), shared_top), cmd=("sh",)))
    assert first.layers[1].descriptor == second.layers[1].descriptor
    await push(first, f"{registry.address}/test/first:v1")
    await push(second, f"{registry.address}/test/second:v1")
    async with open_images(tmp_path) as images:
        await images.pull_image(spec(f"{registry.address}/test/first:v1"), None, None)
        await images.pull_image(spec(f"{registry.address}/test/second:v1"), None, None)
        resolved = await images.resolve(f"{registry.address}/test/second:v1")
    assert (resolved.lower_dirs[0] / "etc" / "shared").read_text() == "same blob"
    assert (resolved.lower_dirs[1] / "etc" / "base").read_text() == "two"


async def test_concurrent_pulls_share_one_pull(tmp_path: Path, registry: RegistryHandle) -> None:
    built = small_image("shared", extra_bytes=4 << 20)
    ref = f"{registry.address}/test/shared:v1"
    await push(built, ref)
    async with open_images(tmp_path) as images:
        ids = await asyncio.gather(*(images.pull_image(spec(ref), None, None) for _ in range(4)))
        listed = await images.list_images(None)
    assert ids == [built.image_id] * 4
    assert [image.id for image in listed] == [built.image_id]


async def test_remove_by_one_tag_removes_every_name_and_collects_garbage(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    built, other = small_image("removable"), small_image("kept")
    one, two = f"{registry.address}/test/rm:one", f"{registry.address}/test/rm:two"
    await push(built, one, two)
    await push(other, f"{registry.address}/test/kept:v1")
    async with open_images(tmp_path) as images:
        await images.pull_image(spec(one), None, None)
        await images.pull_image(spec(two), None, None)
        await images.pull_image(spec(f"{registry.address}/test/kept:v1"), None, None)
        status = await images.image_status(spec(one), verbose=False)
        assert status.image is not None and set(status.image.repo_tags) == {one, two}
        await images.remove_image(spec(one))
        await images.remove_image(spec(one))
        assert (await images.image_status(spec(two), verbose=False)).image is None
        assert [image.id for image in await images.list_images(None)] == [other.image_id]
        kept = images.store.records()[0]
        blobs = {p.name for p in (tmp_path / "store" / "blobs" / "sha256").iterdir()}
        assert blobs == {x.digest[7:] for x in (kept.manifest, kept.config, *kept.layers)}
        assert len(list((tmp_path / "store" / "layers").iterdir())) == len(kept.chain_ids)
        assert (await images.resolve(other.image_id)).lower_dirs


async def test_a_tag_pulled_again_moves_to_the_new_image(tmp_path: Path, registry: RegistryHandle) -> None:
    old, new = small_image("old"), small_image("new")
    ref = f"{registry.address}/test/moving:latest"
    await push(old, ref)
    async with open_images(tmp_path) as images:
        await images.pull_image(spec(ref), None, None)
        await push(new, ref)
        await images.pull_image(spec(ref), None, None)
        old_status = await images.image_status(spec(old.image_id), verbose=False)
        new_status = await images.image_status(spec(ref), verbose=False)
    assert new_status.image is not None and new_status.image.id == new.image_id
    assert old_status.image is not None and old_status.image.repo_tags == ()


async def test_errors_carry_precise_codes(tmp_path: Path, registry: RegistryHandle) -> None:
    async with open_images(tmp_path) as images:
        with pytest.raises(InvalidArgument, match="lowercase"):
            await images.pull_image(spec("Not/Valid"), None, None)
        with pytest.raises(NotFound):
            await images.pull_image(spec(f"{registry.address}/test/absent:v1"), None, None)
        with pytest.raises(Unavailable):
            await images.pull_image(spec(f"127.0.0.1:{free_port()}/test/app:v1"), None, None)
        assert await images.image_status(spec("busybox:none"), verbose=True) == d.ImageStatusResult()
        assert await images.list_images(d.ImageFilter(image=spec("busybox:none"))) == []
        await images.remove_image(spec("busybox:none"))


async def test_resolve_gives_a_runtime_config_layers_and_user_files(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    built = small_image("runtime", user="app:appgroup")
    ref = f"{registry.address}/test/runtime:v1"
    await push(built, ref)
    async with open_images(tmp_path) as images:
        await images.pull_image(spec(ref), None, None)
        resolved = await images.resolve(ref)
        status = await images.image_status(spec(ref), verbose=False)
        with pytest.raises(NotFound):
            await images.resolve(f"{registry.address}/test/absent:v1")
    assert resolved.process.cmd == ("/bin/app", "runtime") and resolved.process.working_dir == "/data"
    assert resolved.process.user == "app:appgroup"
    assert status.image is not None and status.image.username == "app" and status.image.uid is None
    assert "app:x:1234:5678" in resolved.passwd and "appgroup:x:5678" in resolved.group
    assert len(resolved.lower_dirs) == 2
    assert (resolved.lower_dirs[0] / "etc" / "top").read_text() == "runtime"
    assert (resolved.lower_dirs[1] / "etc" / "name").read_text() == "runtime\n"
