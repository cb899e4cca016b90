"""Opening the store the command names: ``sqlite:PATH`` (default), ``etcd:HOST:PORT,...`` or ``memory``;
and the apiserver's own compaction for etcd (SQLite compacts itself)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from api.storage import Store, StoreError
from api.storage.etcd import EtcdOptions, EtcdStore
from api.storage.memory import MemoryStore
from api.storage.sqlite import SQLiteOptions, SQLiteStore
from api.storage.sqlite.maintenance import CompactionPolicy

log = logging.getLogger(__name__)
DATABASE_NAME = "state.db"


def open_store(spec: str, data_dir: Path, *, compaction_interval: float = 300.0) -> Store:
    kind, _, rest = spec.partition(":")
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        path = Path(rest) if rest else data_dir / DATABASE_NAME
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        policy = CompactionPolicy(interval=min(compaction_interval, 60.0), retain_seconds=compaction_interval)
        return SQLiteStore(path, SQLiteOptions(compaction=policy))
    if kind == "etcd":
        endpoints = tuple(e.removeprefix("http://") for e in rest.split(",") if e)
        return EtcdStore(EtcdOptions(endpoints))
    raise ValueError(f"unknown storage {spec!r}: use sqlite:PATH, etcd:HOST:PORT[,...] or memory")


async def compact_forever(store: Store, interval: float) -> None:
    """kube-apiserver's --etcd-compaction-interval: compact to the revision seen one interval ago."""
    previous = 0
    while True:
        await asyncio.sleep(interval)
        try:
            if previous:
                await store.compact(previous)
            previous = await store.current_revision()
        except StoreError as exc:
            log.warning("compaction failed: %s", exc)
