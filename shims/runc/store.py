"""Records in one SQLite database, ``<state>/records.db``: each save is one atomic transaction.

One file rewritten in place (WAL) rather than a file per record replaced on every change: creating
and deleting inodes at every state change cost more CPU than the change itself on a busy node.
Records written by an earlier version as ``records/{sandboxes,containers}/<id>.json`` are imported.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shims.runc.records import ContainerRecord, SandboxRecord, dump, load_container, load_sandbox

log = logging.getLogger(__name__)

SANDBOX, CONTAINER = "sandbox", "container"
SCHEMA = "CREATE TABLE IF NOT EXISTS records (kind TEXT, id TEXT, body BLOB, PRIMARY KEY (kind, id))"


@dataclass(frozen=True, kw_only=True, slots=True)
class Loaded:
    sandboxes: tuple[SandboxRecord, ...]
    containers: tuple[ContainerRecord, ...]


def _kind(record: SandboxRecord | ContainerRecord) -> str:
    return SANDBOX if isinstance(record, SandboxRecord) else CONTAINER


class RecordStore:
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._legacy = state_dir / "records"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(state_dir / "records.db", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a committed save survives the shim's crash
        self._db.execute(SCHEMA)

    def save(self, record: SandboxRecord | ContainerRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO records (kind, id, body) VALUES (?, ?, ?)",
                (_kind(record), record.id, dump(record)),
            )

    def delete(self, record: SandboxRecord | ContainerRecord) -> None:
        with self._lock:
            self._db.execute("DELETE FROM records WHERE kind = ? AND id = ?", (_kind(record), record.id))

    def load(self) -> Loaded:
        self._import_legacy()
        with self._lock:
            rows = self._db.execute("SELECT kind, body FROM records ORDER BY kind, id").fetchall()
        return Loaded(
            sandboxes=tuple(load_sandbox(body) for kind, body in rows if kind == SANDBOX),
            containers=tuple(load_container(body) for kind, body in rows if kind == CONTAINER),
        )

    def _import_legacy(self) -> None:
        for directory, loader in (("sandboxes", load_sandbox), ("containers", load_container)):
            for path in _legacy_files(self._legacy / directory):
                self.save(loader(path.read_bytes()))
                path.unlink()
        with contextlib.suppress(OSError):
            for emptied in (self._legacy / "sandboxes", self._legacy / "containers", self._legacy):
                emptied.rmdir()


def _legacy_files(directory: Path) -> Iterator[Path]:
    if not directory.is_dir():
        return
    for stale in directory.glob("*.tmp"):
        log.info("removing half-written record %s", stale)
        stale.unlink()
    yield from sorted(directory.glob("*.json"))
