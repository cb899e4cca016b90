"""A pull onto a full image filesystem: RESOURCE_EXHAUSTED naming it, nothing half-stored, still serving.

The image root is a 2 MiB tmpfs, smaller than busybox unpacked; growing it (remount) is the operator
freeing space, after which the same shim pulls the same image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from cri.errors import ResourceExhausted
from cri.server import CRIServer, ServerOptions
from shims.runc.daemon import open_images
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime
from tests.faults.tmpfs import resize, tmpfs
from tinykube.testbeds.runc_shim import Layout

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("registry")]
CERTS_D = Path("/etc/containerd/certs.d")  # `tinykube images seed` writes the mirror entries here
IMAGE = "docker.io/library/busybox:1.36"


@pytest.fixture
async def small_image_root(layout: Layout, tmp_path: Path) -> AsyncIterator[tuple[CRIClient, Path]]:
    with tmpfs(tmp_path / "images", options="size=2m,mode=0700") as root:
        config = dataclasses.replace(
            layout.config, local_images={}, image_root=root, registry_certs_dir=CERTS_D
        )
        async with open_images(config) as images:
            runtime = RuncRuntime(config, images)
            await recover(runtime)
            server = CRIServer(runtime, images, ServerOptions(socket=tmp_path / "full.sock"))
            await server.start()
            client = await CRIClient.connect(f"unix://{tmp_path / 'full.sock'}", timeout=60)
            try:
                yield client, root
            finally:
                await client.close()
                await server.stop()
                await runtime.close()


def _partial_files(root: Path) -> list[Path]:
    """Downloads in progress, layers being unpacked and record temporaries: none once a pull ended."""
    ingest = list((root / "ingest").iterdir())
    unpacking = list((root / "layers").glob(".tmp-*"))
    records = list((root / "images").glob("*.tmp"))
    return ingest + unpacking + records


async def test_a_pull_onto_a_full_image_root_answers_resource_exhausted(
    small_image_root: tuple[CRIClient, Path],
) -> None:
    client, root = small_image_root
    with pytest.raises(ResourceExhausted) as raised:
        await client.pull_image(IMAGE)
    message = raised.value.message
    assert message.startswith(f"PullImage {IMAGE!r} into the image store: write {root}")
    assert message.endswith(f"no space left on device (filesystem {root})")
    assert _partial_files(root) == []
    assert await client.list_images() == []
    assert (await client.image_status(d.ImageSpec(image=IMAGE))).image is None

    resize(root, "size=64m")
    image_id = await client.pull_image(IMAGE)
    assert [image.id for image in await client.list_images()] == [image_id]
    assert _partial_files(root) == []
