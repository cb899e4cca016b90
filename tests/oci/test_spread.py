from __future__ import annotations

import fcntl
import os
import struct
import tempfile
from pathlib import Path

import pytest

from shims.oci.spread import FS_IOC_GETFLAGS, FS_TOPDIR_FL, spread_subdirectories
from shims.oci.store import ImageStore


def _flags(path: Path) -> int:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        (flags,) = struct.unpack("=i", fcntl.ioctl(descriptor, FS_IOC_GETFLAGS, bytes(4)))
        return int(flags)
    finally:
        os.close(descriptor)


def test_the_layer_directory_spreads_its_layers_where_the_filesystem_can(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    if not spread_subdirectories(probe):
        pytest.skip("the filesystem under tmp_path has no TOPDIR flag")
    store = ImageStore(tmp_path / "store")
    assert _flags(store.layers_dir) & FS_TOPDIR_FL


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a tmpfs at /dev/shm")
def test_a_filesystem_without_the_flag_is_left_alone() -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as directory:
        assert spread_subdirectories(Path(directory)) is False
        store = ImageStore(Path(directory) / "store")
        assert store.layers_dir.is_dir()
