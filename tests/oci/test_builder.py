from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

from shims.oci.builder import ImageRecipe, build_image, build_index, directory, file, hardlink, symlink
from shims.oci.manifest import OCI_INDEX, parse_config, parse_manifest, select_platform


def _recipe(**overrides: object) -> ImageRecipe:
    layers = (
        (file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), symlink("bin/sh", "/bin/busybox")),
        (
            file("app/run", b"#!/bin/sh\n", mode=0o755),
            hardlink("app/run2", "app/run"),
            directory("data", mode=0o700),
        ),
    )
    return ImageRecipe(layers=layers, cmd=("sh",), **overrides)  # type: ignore[arg-type]


def test_the_same_recipe_gives_the_same_digests() -> None:
    first, second = build_image(_recipe()), build_image(_recipe())
    assert first.manifest.digest == second.manifest.digest
    assert first.manifest_bytes == second.manifest_bytes
    assert [layer.blob for layer in first.layers] == [layer.blob for layer in second.layers]


def test_a_different_config_gives_a_different_image_id_but_the_same_layers() -> None:
    plain, with_user = build_image(_recipe()), build_image(_recipe(user="1234:5678"))
    assert plain.image_id != with_user.image_id
    assert [layer.descriptor for layer in plain.layers] == [layer.descriptor for layer in with_user.layers]


def test_config_carries_what_the_recipe_says() -> None:
    image = build_image(_recipe(
        entrypoint=("/app/run",), env=("A=1",), user="app", working_dir="/app",
        labels={"k": "v"}, exposed_ports=("80/tcp",), stop_signal="SIGQUIT",
    ))  # fmt: skip
    config = parse_config(image.config_bytes)
    assert (config.entrypoint, config.cmd, config.env) == (("/app/run",), ("sh",), ("A=1",))
    assert (config.user, config.working_dir, config.stop_signal) == ("app", "/app", "SIGQUIT")
    assert config.labels == {"k": "v"} and config.exposed_ports == ("80/tcp",)
    assert config.diff_ids == tuple(layer.diff_id for layer in image.layers)
    manifest = parse_manifest(image.manifest_bytes, image.manifest.media_type)
    assert manifest.config == image.config
    assert manifest.layers == tuple(layer.descriptor for layer in image.layers)


def test_layers_are_tars_with_fixed_times_parents_and_verified_diff_ids() -> None:
    layer = build_image(_recipe()).layers[1]
    tar_bytes = gzip.decompress(layer.blob)
    assert layer.diff_id == "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert set(members) == {"app", "app/run", "app/run2", "data"}
    assert all(m.mtime == 0 and m.uid == 0 for m in members.values())
    assert members["app/run2"].islnk() and members["app/run2"].linkname == "app/run"
    assert members["data"].mode == 0o700 and members["app/run"].mode == 0o755


def test_an_index_lists_each_platform() -> None:
    amd64, arm64 = build_image(_recipe()), build_image(_recipe(architecture="arm64"))
    index = build_index([(arm64, "linux", "arm64"), (amd64, "linux", "amd64")])
    assert json.loads(index.data)["mediaType"] == OCI_INDEX
    assert select_platform(index.data) == amd64.manifest
    assert select_platform(index.data, platform=("linux", "arm64")) == arm64.manifest
