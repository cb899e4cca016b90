from __future__ import annotations

import gzip
import hashlib
import os
import stat
from pathlib import Path

import pytest

from shims.oci.unpack import UnsafeLayer, unpack_layer
from tests.oci.layers import directory, hardlink, regular, symlink, write_layer

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are 0/0 device nodes: mknod needs root")


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_files_dirs_links_modes_and_mtimes_are_applied(tmp_path: Path) -> None:
    blob = write_layer(tmp_path / "layer.tgz", [
        directory("etc/"), regular("etc/hostname", b"box\n"), symlink("bin/sh", "/bin/busybox"),
        regular("bin/busybox", b"ELF"), hardlink("bin/ls", "bin/busybox"),
        symlink("etc/rel", "../bin/busybox"),
    ])  # fmt: skip
    root = tmp_path / "root"
    result = unpack_layer(blob, root, gzipped=True)
    assert (root / "etc" / "hostname").read_bytes() == b"box\n"
    assert os.readlink(root / "bin" / "sh") == "/bin/busybox"
    assert os.stat(root / "bin" / "ls").st_ino == os.stat(root / "bin" / "busybox").st_ino
    assert stat.S_IMODE(os.stat(root / "etc" / "hostname").st_mode) == 0o644
    assert os.stat(root / "etc" / "hostname").st_mtime == 1_000_000
    assert os.stat(root / "etc").st_mtime == 1_000_000
    expected = hashlib.sha256(gzip.decompress(blob.read_bytes())).hexdigest()
    assert result.diff_id == f"sha256:{expected}"


def test_uncompressed_layers_unpack_too(tmp_path: Path) -> None:
    blob = write_layer(tmp_path / "layer.tar", [regular("a", b"1")], gzipped=False)
    result = unpack_layer(blob, tmp_path / "root", gzipped=False)
    assert (tmp_path / "root" / "a").read_bytes() == b"1"
    assert result.diff_id == "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "members",
    [
        [regular("../escaped", b"evil")],
        [regular("a/../../escaped", b"evil")],
        [symlink("link", "../../escaped")],
        [hardlink("link", "../escaped")],
        [symlink("dir", str(Path("/tmp"))), regular("dir/escaped", b"evil")],
        [symlink("dir", "."), symlink("dir2", "dir/.."), regular("dir2/../escaped")],
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "symlink-escape",
        "hardlink-escape",
        "write-through-symlink",
        "symlink-chain",
    ],
)
def test_hostile_layers_are_rejected_without_writing_outside_the_root(tmp_path: Path, members: list) -> None:  # type: ignore[type-arg]
    blob = write_layer(tmp_path / "evil.tgz", members)
    root = tmp_path / "deep" / "root"
    with pytest.raises(UnsafeLayer):
        unpack_layer(blob, root, gzipped=True)
    assert not (tmp_path / "deep" / "escaped").exists()
    assert not (tmp_path / "escaped").exists()
    assert not Path("/tmp/escaped").exists()


def test_entries_over_the_size_limit_are_rejected(tmp_path: Path) -> None:
    blob = write_layer(tmp_path / "big.tgz", [regular("big", b"x" * 2048)])
    with pytest.raises(UnsafeLayer, match="limit"):
        unpack_layer(blob, tmp_path / "root", gzipped=True, max_entry_bytes=1024)
    assert not (tmp_path / "root" / "big").exists()


def test_a_hardlink_to_a_missing_file_is_rejected(tmp_path: Path) -> None:
    blob = write_layer(tmp_path / "l.tgz", [hardlink("a", "missing")])
    with pytest.raises(UnsafeLayer, match="not in the layer"):
        unpack_layer(blob, tmp_path / "root", gzipped=True)


def test_a_later_entry_replaces_an_earlier_one(tmp_path: Path) -> None:
    blob = write_layer(tmp_path / "l.tgz", [regular("a", b"old"), directory("a/"), regular("a/b", b"new")])
    unpack_layer(blob, tmp_path / "root", gzipped=True)
    assert (tmp_path / "root" / "a" / "b").read_bytes() == b"new"


@needs_root
def test_whiteouts_and_opaque_markers_take_overlayfs_form(tmp_path: Path) -> None:
    blob = write_layer(
        tmp_path / "l.tgz", [regular("etc/.wh.gone"), directory("var/"), regular("var/.wh..wh..opq")]
    )
    root = tmp_path / "root"
    unpack_layer(blob, root, gzipped=True)
    gone = os.lstat(root / "etc" / "gone")
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert os.getxattr(root / "var", "trusted.overlay.opaque") == b"y"
    assert _files(root) == {"etc", "etc/gone", "var"}


def test_a_cancelled_unpack_stops(tmp_path: Path) -> None:
    from cri.errors import Cancelled

    blob = write_layer(tmp_path / "l.tgz", [regular("a"), regular("b")])
    with pytest.raises(Cancelled):
        unpack_layer(blob, tmp_path / "root", gzipped=True, should_stop=lambda: True)
    assert not (tmp_path / "root" / "a").exists()


def test_a_blob_that_is_not_a_gzip_tar_is_reported_corrupt(tmp_path: Path) -> None:
    from shims.oci.unpack import CorruptLayer

    blob = tmp_path / "garbage.tgz"
    blob.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(CorruptLayer, match="not a readable tar"):
        unpack_layer(blob, tmp_path / "root", gzipped=True)
