"""Records on disk: ``<state>/records/{sandboxes,containers}/<id>.json``, replaced atomically.

A durable save writes a temporary file, fsyncs it, renames it into place and fsyncs the directory:
the record survives a power loss. A step towards one (``durable=False``) is written and renamed
only, which a crash of the shim never loses. A record that cannot be
read at start (truncated, corrupt, of an unknown version) is moved to ``records/quarantine/`` and
reported once; the shim starts without it instead of refusing to start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from cri.domain.jsoncodec import DecodeError, decode, encode
from cri.exhaustion import writing
from shims.node.atomicfile import write_temporary

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class Identified(Protocol):
    @property
    def id(self) -> str: ...


S = TypeVar("S", bound=Identified)
C = TypeVar("C", bound=Identified)


@dataclass(frozen=True, kw_only=True, slots=True)
class Loaded(Generic[S, C]):
    sandboxes: tuple[S, ...]
    containers: tuple[C, ...]
    quarantined: tuple[Path, ...] = ()


class UnreadableRecord(ValueError):
    pass


class RecordStore(Generic[S, C]):
    def __init__(self, state_dir: Path, *, sandbox_type: type[S], container_type: type[C]) -> None:
        self.sandbox_dir = state_dir / "records" / "sandboxes"
        self.container_dir = state_dir / "records" / "containers"
        self.quarantine_dir = state_dir / "records" / "quarantine"
        self._sandbox_type = sandbox_type
        self._container_type = container_type
        for directory in (self.sandbox_dir, self.container_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, record: S | C) -> Path:
        directory = self.container_dir if isinstance(record, self._container_type) else self.sandbox_dir
        return directory / f"{record.id}.json"

    def save(self, record: S | C, *, durable: bool = True) -> None:
        """Blocking; a durable record is on stable storage when this returns.

        A full disk leaves the previous record in place (and no temporary file) and answers
        RESOURCE_EXHAUSTED naming the record."""
        path = self._path(record)
        temporary = path.with_suffix(".tmp")
        data = json.dumps({"version": FORMAT_VERSION, "record": encode(record)}).encode()
        with writing(f"saving the record of {record.id}", path):
            write_temporary(temporary, data, durable=durable)
            os.replace(temporary, path)
            if durable:
                _fsync_directory(path.parent)

    def delete(self, record: S | C) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(record).unlink()

    def load(self) -> Loaded[S, C]:
        quarantined: list[Path] = []
        sandboxes = self._load_all(self.sandbox_dir, self._sandbox_type, quarantined)
        containers = self._load_all(self.container_dir, self._container_type, quarantined)
        return Loaded(sandboxes=sandboxes, containers=containers, quarantined=tuple(quarantined))

    def _load_all(self, directory: Path, cls: type[Any], quarantined: list[Path]) -> tuple[Any, ...]:
        records = []
        for path in self._files(directory):
            try:
                records.append(_read(path, cls))
            except UnreadableRecord as exc:
                quarantined.append(self._quarantine(path, exc))
        return tuple(records)

    def _quarantine(self, path: Path, problem: UnreadableRecord) -> Path:
        self.quarantine_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.quarantine_dir / f"{path.parent.name}-{path.name}"
        os.replace(path, target)
        log.warning(
            "record %s cannot be read (%s): moved to %s; its object is treated as gone", path, problem, target
        )
        return target

    @staticmethod
    def _files(directory: Path) -> list[Path]:
        for stale in directory.glob("*.tmp"):
            log.info("removing half-written record %s", stale)
            stale.unlink()
        return sorted(directory.glob("*.json"))


def _read(path: Path, cls: type[Any]) -> Any:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UnreadableRecord(str(exc)) from exc
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise UnreadableRecord(f"not a version {FORMAT_VERSION} record")
    try:
        record = decode(cls, document.get("record"))
    except DecodeError as exc:
        raise UnreadableRecord(str(exc)) from exc
    if f"{record.id}.json" != path.name:
        raise UnreadableRecord(f"it holds the record of {record.id}")
    return record


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
