"""`tinykube images build`: a directory becomes an image, pushed, that pulls back with its config."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cri import domain as d
from shims.oci.localregistry import RegistryHandle
from shims.oci.service import ImageStoreConfig, OciImages
from tinykube.commands import images as images_command

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("docker-registry")]


async def test_build_pushes_a_reproducible_image_that_pulls_back(
    tmp_path: Path, registry: RegistryHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "rootfs"
    (source / "app").mkdir(parents=True)
    (source / "app" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (source / "app" / "run.sh").chmod(0o755)
    ref = f"{registry.address}/built/app:v1"
    argv = ["build", "--from-dir", str(source), "--entrypoint", "/app/run.sh", "--user", "1000",
            "--workdir", "/app", "--env", "MODE=test", "--label", "team=oci", "--expose", "8080/tcp",
            "--push", ref]  # fmt: skip
    assert await asyncio.to_thread(images_command.main, argv) == 0
    first = capsys.readouterr().out
    assert await asyncio.to_thread(images_command.main, argv) == 0
    assert capsys.readouterr().out == first
    async with OciImages.open(ImageStoreConfig(root=tmp_path / "store", certs_d=None)) as images:
        image_id = await images.pull_image(d.ImageSpec(image=ref), None, None)
        resolved = await images.resolve(ref)
    assert image_id in first
    assert resolved.process.entrypoint == ("/app/run.sh",) and resolved.process.user == "1000"
    assert resolved.process.working_dir == "/app" and resolved.process.env == ("MODE=test",)
    assert resolved.config.labels == {"team": "oci"} and resolved.config.exposed_ports == ("8080/tcp",)
    assert (resolved.lower_dirs[0] / "app" / "run.sh").read_text() == "#!/bin/sh\necho hi\n"
