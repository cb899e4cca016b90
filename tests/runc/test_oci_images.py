"""The runc shim over the OCI image store: images pulled from the local registry (``.ci/services.sh``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from shims.runc.daemon import open_images
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container
from tinykube.testbeds.runc_shim import Layout, remove_everything

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("registry")]
CERTS_D = Path("/etc/containerd/certs.d")  # `tinykube images seed` writes the mirror entries here


@pytest.fixture
async def oci_shim(layout: Layout, tmp_path: Path) -> AsyncIterator[CRIClient]:
    config = dataclasses.replace(
        layout.config, local_images={}, image_root=tmp_path / "images", registry_certs_dir=CERTS_D
    )
    async with open_images(config) as images:
        runtime = RuncRuntime(config, images)
        await recover(runtime)
        server = CRIServer(runtime, images, ServerOptions(socket=tmp_path / "oci.sock"))
        await server.start()
        client = await CRIClient.connect(f"unix://{tmp_path / 'oci.sock'}", timeout=60)
        try:
            yield client
        finally:
            await remove_everything(client)
            await client.close()
            await server.stop()
            await runtime.close()


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("docker.io/library/busybox:1.36", "uid=0(root) gid=0(root) groups=0(root)"),
        ("docker.io/tinykube/user-name-group:latest",
         "uid=1234(app) gid=5678(appgroup) groups=4321(extra),5678(appgroup)"),  # the kernel sorts groups
    ],
)  # fmt: skip
async def test_pulled_image_runs_as_its_user_with_its_groups(
    oci_shim: CRIClient, tmp_path: Path, image: str, expected: str
) -> None:
    image_id = await oci_shim.pull_image(image)
    pod = pod_config("oci", tmp_path / "logs")
    pod_id = await oci_shim.run_pod_sandbox(pod)
    config = dataclasses.replace(container_config("c", "sleep", "300"), image=d.ImageSpec(image=image))
    container_id = await run_container(oci_shim, pod_id, pod, config)
    status = (await oci_shim.container_status(container_id)).status
    assert status is not None and status.image_ref == image_id
    result = await oci_shim.exec_sync(container_id, ["id"], exec_timeout=10)
    assert result.stdout.decode().strip() == expected
