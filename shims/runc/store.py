"""Records on disk: ``<state>/records/{sandboxes,containers}/<id>.json``, replaced atomically."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from shims.runc.records import ContainerRecord, SandboxRecord, dump, load_container, load_sandbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Loaded:
    sandboxes: tuple[SandboxRecord, ...]
    containers: tuple[ContainerRecord, ...]


class RecordStore:
    def __init__(self, state_dir: Path) -> None:
        self.sandbox_dir = state_dir / "records" / "sandboxes"
        self.container_dir = state_dir / "records" / "containers"
        for directory in (self.sandbox_dir, self.container_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, record: SandboxRecord | ContainerRecord) -> Path:
        directory = self.sandbox_dir if isinstance(record, SandboxRecord) else self.container_dir
        return directory / f"{record.id}.json"

    def save(self, record: SandboxRecord | ContainerRecord) -> None:
        path = self._path(record)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(dump(record))
        os.replace(temporary, path)

    def delete(self, record: SandboxRecord | ContainerRecord) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(record).unlink()

    def load(self) -> Loaded:
        sandboxes = [load_sandbox(p.read_bytes()) for p in self._files(self.sandbox_dir)]
        containers = [load_container(p.read_bytes()) for p in self._files(self.container_dir)]
        return Loaded(sandboxes=tuple(sandboxes), containers=tuple(containers))

    @staticmethod
    def _files(directory: Path) -> list[Path]:
        for stale in directory.glob("*.tmp"):
            log.info("removing half-written record %s", stale)
            stale.unlink()
        return sorted(directory.glob("*.json"))
