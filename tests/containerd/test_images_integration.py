"""The containerd shim's ImageService against the real containerd and the seeded local registry."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from cri import domain as d
from cri.errors import NotFound
from shims.containerd.client import Client
from shims.containerd.images import ContainerdImages
from shims.containerd.pull import MANAGED_LABEL
from shims.oci.catalog import MULTIARCH_TAG

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]

BUSYBOX = "docker.io/library/busybox:1.36"


def spec(image: str) -> d.ImageSpec:
    return d.ImageSpec(image=image)


async def test_a_pulled_image_is_named_and_labelled_as_containerds_cri_keeps_it(
    client: Client, images: ContainerdImages
) -> None:
    image_id = await images.pull_image(spec("busybox:1.36"), None, None)
    status = await images.image_status(spec(BUSYBOX), verbose=True)
    assert status.image is not None
    assert status.image.id == image_id
    assert status.image.repo_tags == (BUSYBOX,)
    (repo_digest,) = status.image.repo_digests
    assert repo_digest.startswith("docker.io/library/busybox@sha256:")
    records = {record.name: record for record in await client.images.list()}
    assert set(records) == {BUSYBOX, repo_digest, image_id}
    assert all(record.labels[MANAGED_LABEL] == "managed" for record in records.values())
    chain_id = json.loads(status.info["info"])["chainID"]
    assert (await client.snapshots.stat(chain_id)).kind == "committed"
    assert await client.leases.list() == []
    assert await client.content.ingests() == []


async def test_an_image_is_found_by_tag_digest_id_and_id_prefix(images: ContainerdImages) -> None:
    image_id = await images.pull_image(spec(BUSYBOX), None, None)
    status = await images.image_status(spec(BUSYBOX), verbose=False)
    assert status.image is not None
    for name in (
        status.image.repo_digests[0],
        image_id,
        image_id.removeprefix("sha256:")[:12],
        "busybox:1.36",
    ):
        found = await images.list_images(d.ImageFilter(image=spec(name)))
        assert [image.id for image in found] == [image_id], name


async def test_concurrent_pulls_of_one_image_give_one_image(client: Client, images: ContainerdImages) -> None:
    ids = await asyncio.gather(*(images.pull_image(spec(BUSYBOX), None, None) for _ in range(4)))
    assert len(set(ids)) == 1
    assert [image.id for image in await images.list_images(None)] == [ids[0]]
    assert len(await client.snapshots.list()) == 1


async def test_an_index_resolves_to_this_platforms_manifest(images: ContainerdImages) -> None:
    image_id = await images.pull_image(spec(MULTIARCH_TAG), None, None)
    status = await images.image_status(spec(MULTIARCH_TAG), verbose=True)
    assert status.image is not None and status.image.id == image_id
    assert "multiarch-amd64" in status.info["info"]


async def test_removing_an_image_removes_its_names_content_and_snapshots(
    client: Client, images: ContainerdImages
) -> None:
    await images.pull_image(spec(BUSYBOX), None, None)
    await images.remove_image(spec(BUSYBOX))
    assert await images.list_images(None) == []
    assert await client.images.list() == []
    assert await client.content.list() == []
    assert await client.snapshots.list() == []
    await images.remove_image(spec(BUSYBOX))  # gone already: still success
    assert (await images.image_status(spec(BUSYBOX), verbose=False)).image is None


async def test_an_image_pulled_with_ctr_is_listed(client: Client, images: ContainerdImages) -> None:
    pulled = await asyncio.to_thread(
        subprocess.run,
        ["ctr", "-n", client.namespace, "image", "pull", "--hosts-dir", "/etc/containerd/certs.d", BUSYBOX],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pulled.returncode == 0, pulled.stderr
    (image,) = await images.list_images(None)
    assert image.repo_tags == (BUSYBOX,)
    assert image.id == await images.pull_image(spec(BUSYBOX), None, None)


async def test_image_fs_info_counts_the_unpacked_layers(images: ContainerdImages) -> None:
    before = (await images.image_fs_info()).image_filesystems[0]
    await images.pull_image(spec(BUSYBOX), None, None)
    after = (await images.image_fs_info()).image_filesystems[0]
    assert after.fs_id is not None and after.fs_id.mountpoint.endswith(
        "io.containerd.snapshotter.v1.overlayfs"
    )
    assert (after.used_bytes or 0) > (before.used_bytes or 0)


async def test_an_image_the_registry_lacks_is_not_found(client: Client, images: ContainerdImages) -> None:
    with pytest.raises(NotFound, match="no-such-tag"):
        await images.pull_image(spec("docker.io/library/busybox:no-such-tag"), None, None)
    assert await client.images.list() == []
    assert await client.leases.list() == []
