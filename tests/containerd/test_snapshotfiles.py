"""A container's user is resolved from the image's /etc/passwd as the container will see it: the
topmost layer that has the file wins."""

from __future__ import annotations

from pathlib import Path

from shims.containerd.client import Mount
from shims.containerd.snapshotfiles import read_image_file, upper_dir


def layer(root: Path, name: str, passwd: str | None) -> Path:
    directory = root / name
    (directory / "etc").mkdir(parents=True)
    if passwd is not None:
        (directory / "etc" / "passwd").write_text(passwd)
    return directory


def overlay(upper: Path, *lowers: Path) -> list[Mount]:
    options = (
        f"upperdir={upper}",
        f"workdir={upper.parent / 'work'}",
        f"lowerdir={':'.join(map(str, lowers))}",
    )
    return [Mount(type="overlay", source="overlay", options=("index=off", *options))]


def test_the_topmost_layer_with_the_file_wins(tmp_path: Path) -> None:
    upper = layer(tmp_path, "upper", None)
    top, base = (
        layer(tmp_path, "top", "app:x:1234:5678::/:/bin/sh\n"),
        layer(tmp_path, "base", "root:x:0:0::/:/bin/sh\n"),
    )
    mounts = overlay(upper, top, base)
    assert read_image_file(mounts, "etc/passwd").startswith("app:")
    assert upper_dir(mounts) == upper


def test_a_single_layer_image_is_read_through_its_bind_mount(tmp_path: Path) -> None:
    only = layer(tmp_path, "only", "root:x:0:0::/:/bin/sh\n")
    mounts = [Mount(type="bind", source=str(only), options=("rbind", "rw"))]
    assert read_image_file(mounts, "etc/passwd").startswith("root:")
    assert read_image_file(mounts, "etc/group") == ""
