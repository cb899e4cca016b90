"""Ask the filesystem to spread a directory's subdirectories over the disk (ext4's TOPDIR flag).

Each layer is an independent tree, like home directories under /home: flagged this way, ext4's Orlov
allocator places each new layer directory (and so its files' inodes) in a block group of its own
instead of packing every layer into the group of the parent. On an ext4 without a journal that
matters: allocating an inode skips each inode of its group deleted in the last minutes (removed
images), so layers unpacked where earlier ones were deleted pay per file for that history.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from pathlib import Path

log = logging.getLogger(__name__)

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_TOPDIR_FL = 0x00020000
_FLAGS = struct.Struct("=i")
"""The flags are a C int, whatever the ioctl number says."""


def spread_subdirectories(directory: Path) -> bool:
    """Set the flag on ``directory``; False (and nothing changed) where the filesystem has no such flag."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        (flags,) = _FLAGS.unpack(fcntl.ioctl(descriptor, FS_IOC_GETFLAGS, bytes(_FLAGS.size)))
        if not flags & FS_TOPDIR_FL:
            fcntl.ioctl(descriptor, FS_IOC_SETFLAGS, _FLAGS.pack(flags | FS_TOPDIR_FL))
        return True
    except OSError as exc:
        log.debug("cannot flag %s to spread its subdirectories: %s", directory, exc)
        return False
    finally:
        os.close(descriptor)
