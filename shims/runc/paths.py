"""Where the runc shim keeps each sandbox's and container's files."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True, slots=True)
class Paths:
    root: Path
    state: Path

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.state / "sandboxes" / sandbox_id

    def bundle(self, container_id: str) -> Path:
        return self.state / "containers" / container_id

    def container_root(self, container_id: str) -> Path:
        return self.root / "containers" / container_id

    def image_volume_dir(self, container_id: str, mount_index: int) -> Path:
        return self.container_root(container_id) / "image-volumes" / str(mount_index)

    def image_volume_dirs(self, container_id: str) -> list[Path]:
        """Blocking: the image volume directories a container has."""
        with contextlib.suppress(FileNotFoundError):
            return list((self.container_root(container_id) / "image-volumes").iterdir())
        return []

    @property
    def exit_dir(self) -> Path:
        return self.state / "exits"

    @property
    def socket_dir(self) -> Path:
        return self.state / "sockets"
