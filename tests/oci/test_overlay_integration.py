"""Whiteouts and opaque directories, unpacked by us, give the right merged tree under a real overlayfs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cri import domain as d
from shims.node import mounts
from shims.oci.builder import ImageRecipe, build_image, directory, file
from shims.oci.localregistry import RegistryHandle
from shims.oci.service import ImageStoreConfig, OciImages
from tests.oci.images import push

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("docker-registry", "mount")]


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, f"{argv}: {stderr.decode()}"


def _tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


async def test_whiteouts_and_opaque_dirs_merge_right_under_overlayfs(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    bottom = (
        file("etc/keep", "kept\n"), file("etc/gone", "x"),
        directory("etc/gonedir"), file("etc/gonedir/f", "x"),
        file("var/cache/old1", "x"), file("var/cache/old2", "x"),
    )  # fmt: skip
    top = (file("etc/.wh.gone", ""), file("etc/.wh.gonedir", ""), file("var/cache/.wh..wh..opq", ""),
           file("var/cache/new", "fresh\n"))  # fmt: skip
    built = build_image(ImageRecipe(layers=(bottom, top), cmd=("sh",)))
    ref = f"{registry.address}/test/whiteouts:v1"
    await push(built, ref)
    config = ImageStoreConfig(root=tmp_path / "store", certs_d=None)
    async with OciImages.open(config) as images:
        await images.pull_image(d.ImageSpec(image=ref), None, None)
        resolved = await images.resolve(ref)
        record = images.store.get(ref)
        assert images.store.read_file(record, "etc/keep") == b"kept\n"
        assert images.store.read_file(record, "etc/gone") is None
        assert images.store.read_file(record, "etc/gonedir/f") is None
        assert images.store.read_file(record, "var/cache/old1") is None
        assert images.store.read_file(record, "var/cache/new") == b"fresh\n"
    merged = tmp_path / "merged"
    merged.mkdir()
    lower = ":".join(str(path) for path in resolved.lower_dirs)
    await _run("mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower}", str(merged))
    try:
        assert _tree(merged) == {"etc", "etc/keep", "var", "var/cache", "var/cache/new"}
        assert (merged / "var" / "cache" / "new").read_text() == "fresh\n"
    finally:
        await _run("umount", str(merged))


async def test_layers_under_a_mounted_overlay_outlive_their_removed_image(
    tmp_path: Path, registry: RegistryHandle
) -> None:
    built = build_image(ImageRecipe(layers=((file("etc/in-use", "still here\n"),),), cmd=("sh",)))
    ref = f"{registry.address}/test/in-use:v1"
    await push(built, ref)
    config = ImageStoreConfig(root=tmp_path / "store", certs_d=None)
    async with OciImages.open(config) as images:
        await images.pull_image(d.ImageSpec(image=ref), None, None)
        layers = (await images.resolve(ref)).lower_dirs
        merged = mounts.mount_image_volume(layers, directory=tmp_path / "volume")
        try:
            await images.remove_image(d.ImageSpec(image=ref))
            assert (await images.image_status(d.ImageSpec(image=ref), verbose=False)).image is None
            assert (merged / "etc" / "in-use").read_text() == "still here\n"
        finally:
            mounts.unmount_overlay(merged)
        await images.layers_released()
        assert not any(layer.exists() for layer in layers)
