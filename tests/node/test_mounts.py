"""Overlay lower dirs from mountinfo (what keeps a removed image's layers alive); bind mount host paths."""

from __future__ import annotations

from pathlib import Path

from shims.node.mounts import overlay_lower_dirs, resolve_host_path

MOUNTINFO = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "90 22 0:50 / /run/c1/rootfs rw,relatime shared:40 - overlay overlay"
    " rw,lowerdir=/store/layers/aa:/store/layers/bb,upperdir=/run/c1/upper,workdir=/run/c1/work\n"
    "91 22 0:51 / /run/c2/volume\\040one/mnt ro,nodev,relatime - overlay overlay"
    " ro,lowerdir=/store/my\\040layers/cc:/run/c2/empty\n"
    "92 22 0:52 / /mnt/tmp rw - tmpfs tmpfs rw,lowerdir=/not/an/overlay\n"
)


def test_lower_dirs_of_every_overlay_mount_and_only_those(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(MOUNTINFO)
    assert overlay_lower_dirs(mountinfo) == {
        Path("/store/layers/aa"),
        Path("/store/layers/bb"),
        Path("/store/my layers/cc"),
        Path("/run/c2/empty"),
    }


def test_missing_host_path_becomes_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "a" / "b"
    assert resolve_host_path(str(missing)) == str(missing) and missing.is_dir()


def test_host_path_symlink_resolved_and_file_kept(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("kept")
    (tmp_path / "link").symlink_to(target)
    assert resolve_host_path(str(tmp_path / "link")) == str(target) and target.read_text() == "kept"
