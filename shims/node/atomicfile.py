"""The first half of an atomic file replacement: the temporary file, written whole or not at all."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_temporary(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` (fsynced when ``durable``); on any failure ``path`` is removed.

    A full disk then leaves no half-written file behind; the caller renames ``path`` into place.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
