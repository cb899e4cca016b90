"""`tinykube images seed`: every seeded image pulls through the mirrors it writes, for us and containerd."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from shims.oci import catalog
from shims.oci.localregistry import RegistryHandle
from shims.oci.seed import SeedOptions, seed
from shims.oci.service import ImageStoreConfig, OciImages

pytestmark = pytest.mark.integration

CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
SHARED_CERTS_D = Path("/etc/containerd/certs.d")


@pytest.mark.needs_host("docker-registry")
async def test_seed_fills_a_registry_we_pull_every_image_from_and_is_idempotent(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    certs_d = tmp_path / "certs.d"
    conf = tmp_path / "registries.conf.d" / "tinykube.conf"
    options = SeedOptions(registry=registry.address, certs_d=certs_d, registries_conf=conf, include_big=False)
    first = await seed(options)
    expected = await asyncio.to_thread(catalog.seed_images, include_big=False)
    assert not first.registry_started
    assert sorted(first.pushed) == sorted(tag for image in expected for tag in image.tags)
    assert (certs_d / "docker.io" / "hosts.toml").exists() and (
        certs_d / "registry.k8s.io" / "hosts.toml"
    ).exists()
    assert f'location = "{registry.address}"' in conf.read_text()
    async with OciImages.open(ImageStoreConfig(root=tmp_path / "store", certs_d=certs_d)) as images:
        for image in expected:
            ids = {await images.pull_image(d.ImageSpec(image=tag), None, None) for tag in image.tags}
            assert len(ids) == 1, image.tags
        busybox = await images.resolve("busybox:1.36")
        pause = await images.resolve("registry.k8s.io/pause:3.10")
        web = await images.resolve("registry.k8s.io/e2e-test-images/nginx:1.14-2")
        users = {tag: (await images.image_status(d.ImageSpec(image=tag), verbose=False)).image
                 for tag in ("tinykube/user-uid", "tinykube/user-name", "tinykube/user-uid-gid",
                             "tinykube/user-name-group")}  # fmt: skip
    assert (busybox.lower_dirs[0] / "bin" / "busybox").exists() and "app:x:1234:5678" in busybox.passwd
    assert pause.process.entrypoint[0] == "/pause" and (pause.lower_dirs[0] / "pause").exists()
    assert web.config.exposed_ports == ("80/tcp",) and web.process.cmd[0] == "httpd"
    assert [(i.uid, i.username) for i in users.values() if i] == [
        (1234, ""),
        (None, "app"),
        (1234, ""),
        (None, "app"),
    ]
    again = await seed(options)
    assert again.pushed == [] and again.mirrors_written == []


@pytest.mark.needs_host("containerd", "registry")
async def test_containerd_and_we_pull_every_seeded_image_to_the_same_id(tmp_path: Path) -> None:
    expected = await asyncio.to_thread(catalog.seed_images, include_big=False)
    config = ImageStoreConfig(root=tmp_path / "store", certs_d=SHARED_CERTS_D)
    async with await CRIClient.connect(CONTAINERD_SOCKET) as client, OciImages.open(config) as images:
        for image in expected:
            for tag in image.tags:
                theirs = await client.pull_image(tag)
                ours = await images.pull_image(d.ImageSpec(image=tag), None, None)
                assert theirs == ours, tag
