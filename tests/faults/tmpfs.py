"""A small tmpfs to fill: mounted for a test's length and unmounted however the test ends."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def tmpfs(target: Path, *, options: str) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


def resize(target: Path, options: str) -> None:
    """Grow (or shrink) the tmpfs at ``target``: the operator freeing space."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(target)], check=True)
