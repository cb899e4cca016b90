from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
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


@pytest.mark.parametrize("tar_format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_long_names_and_link_targets_survive(tmp_path: Path, tar_format: int) -> None:
    deep = "/".join(["d" * 60] * 4) + "/file-with-a-long-name"
    target = "/" + "t" * 150
    blob = write_layer(
        tmp_path / "l.tgz", [regular(deep, b"deep"), symlink("long-link", target)], tar_format=tar_format
    )
    unpack_layer(blob, tmp_path / "root", gzipped=True)
    assert (tmp_path / "root" / deep).read_bytes() == b"deep"
    assert os.readlink(tmp_path / "root" / "long-link") == target


@needs_root
def test_pax_xattrs_are_applied(tmp_path: Path) -> None:
    member = regular("bin/ping", b"ELF")
    blob = write_layer(tmp_path / "l.tgz", [member], pax_headers={"SCHILY.xattr.user.origin": "layer"})
    unpack_layer(blob, tmp_path / "root", gzipped=True)
    assert os.getxattr(tmp_path / "root" / "bin" / "ping", "user.origin") == b"layer"


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar writes the sparse layer")
def test_sparse_files_get_their_holes_back(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    with (source / "sparse").open("wb") as file:
        file.seek(1 << 20)
        file.write(b"middle")
        file.seek(3 << 20)
        file.write(b"end")
    tar = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--sparse", "--format=gnu", "-cf", str(tar), "-C", str(source), "sparse"],
                   check=True, timeout=30)  # fmt: skip
    blob = tmp_path / "sparse.tgz"
    blob.write_bytes(gzip.compress(tar.read_bytes(), mtime=0))
    unpack_layer(blob, tmp_path / "root", gzipped=True)
    unpacked = tmp_path / "root" / "sparse"
    assert unpacked.read_bytes() == (source / "sparse").read_bytes()
    assert os.stat(unpacked).st_blocks * 512 < 1 << 20


@pytest.mark.parametrize("damage", ["truncated-data", "bad-header-checksum"])
def test_a_damaged_tar_is_corrupt_not_a_short_layer(tmp_path: Path, damage: str) -> None:
    from shims.oci.unpack import CorruptLayer

    raw = tmp_path / "l.tar"
    write_layer(raw, [regular("a", b"1" * 4000), regular("b", b"2" * 4000)], gzipped=False)
    data = bytearray(raw.read_bytes())
    second_header = data.index(b"2" * 100) - 512
    if damage == "truncated-data":
        data = data[: second_header + 512 + 1000]
    else:
        data[second_header + 148] ^= 0x01
    blob = tmp_path / "l.tgz"
    blob.write_bytes(gzip.compress(bytes(data), mtime=0))
    with pytest.raises(CorruptLayer):
        unpack_layer(blob, tmp_path / "root", gzipped=True)


def test_a_huge_header_record_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from shims.oci.tarstream import MAX_HEADER_BYTES, TarStream

    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, 1 << 40
    header = pax.tobuf(format=tarfile.GNU_FORMAT)

    class EndlessZeros:
        taken = 0

        def read(self, size: int = -1) -> bytes:
            data = header if self.taken == 0 else bytes(1 << 20)
            self.taken += len(data)
            return data

    source = EndlessZeros()
    with pytest.raises(tarfile.ReadError, match="limit"):
        list(TarStream(source).members())
    assert source.taken < MAX_HEADER_BYTES
