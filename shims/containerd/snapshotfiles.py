"""Reading a container's files through its snapshot's mounts without mounting them: the upper
directory first, then each lower layer in order (overlayfs), or the source of a bind mount."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shims.containerd.client import Mount


def layer_dirs(mounts: Sequence[Mount]) -> tuple[Path, ...]:
    """The directories a snapshot's root is made of, topmost first."""
    dirs: list[Path] = []
    for mount in mounts:
        if mount.type == "bind":
            dirs.append(Path(mount.source))
            continue
        options = dict(option.partition("=")[::2] for option in mount.options)
        if options.get("upperdir"):
            dirs.append(Path(options["upperdir"]))
        dirs.extend(Path(lower) for lower in options.get("lowerdir", "").split(":") if lower)
    return tuple(dirs)


def upper_dir(mounts: Sequence[Mount]) -> Path:
    """The writable layer (where a container's own usage is counted)."""
    for mount in mounts:
        options = dict(option.partition("=")[::2] for option in mount.options)
        if options.get("upperdir"):
            return Path(options["upperdir"])
        if mount.type == "bind":
            return Path(mount.source)
    return Path()


def read_image_file(mounts: Sequence[Mount], inside: str) -> str:
    """Blocking: the file at ``inside`` (relative) as the container will see it, "" when absent."""
    for directory in layer_dirs(mounts):
        path = directory / inside
        if path.is_file():
            try:
                return path.read_text()
            except OSError:
                return ""
    return ""
