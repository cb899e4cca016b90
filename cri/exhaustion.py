"""Resource faults (a full disk, a quota, no file descriptors left) as RESOURCE_EXHAUSTED.

An ``OSError`` from a ``write`` carries no file name, so a boundary that knows what it was writing
and where (the image store, the record store) says so with ``writing(...)``; the RPC guard maps any
other such error with what the error itself names. Both word it as Go does (``write PATH: no space
left on device``, ``open PATH: too many open files``); a full disk also names its filesystem, so an
operator knows which one to free.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cri.errors import ResourceExhausted

EXHAUSTING_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE})
ON_A_FILESYSTEM = frozenset({errno.ENOSPC, errno.EDQUOT})


def filesystem_of(path: Path) -> Path:
    """The mount point of the filesystem holding ``path`` (or its nearest existing ancestor)."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    while not os.path.ismount(current):
        current = current.parent
    return current


def exhausted(exc: BaseException, *, what: str, path: Path | str | None = None) -> ResourceExhausted | None:
    """RESOURCE_EXHAUSTED for an OSError that says a resource ran out, else None."""
    if not isinstance(exc, OSError) or exc.errno not in EXHAUSTING_ERRNOS:
        return None
    target = path if path is not None else exc.filename
    reason = os.strerror(exc.errno).lower()
    if target is None:
        return ResourceExhausted(f"{what}: {reason}")
    if exc.errno not in ON_A_FILESYSTEM:
        return ResourceExhausted(f"{what}: open {target}: {reason}")
    filesystem = filesystem_of(Path(os.fsdecode(target)))
    return ResourceExhausted(f"{what}: write {target}: {reason} (filesystem {filesystem})")


@contextmanager
def writing(what: str, path: Path) -> Iterator[None]:
    """Raise RESOURCE_EXHAUSTED naming ``what`` and ``path`` when the body runs out of a resource."""
    try:
        yield
    except OSError as exc:
        mapped = exhausted(exc, what=what, path=exc.filename or path)
        if mapped is None:
            raise
        raise mapped from exc
