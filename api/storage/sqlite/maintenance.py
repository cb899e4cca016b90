"""Scheduled upkeep: compact history older than the retention window, give freed pages back, and keep
the WAL from growing, so the file stays bounded under a steady write load."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from api.storage.errors import Compacted, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompactionPolicy:
    """Compact every ``interval`` seconds, keeping at least ``retain_seconds`` and ``retain_revisions``."""

    interval: float = 60.0
    retain_seconds: float = 300.0
    retain_revisions: int = 1000


class Compactable(Protocol):
    async def current_revision(self) -> int: ...

    async def compact_revision(self) -> int: ...

    async def compact(self, revision: int) -> None: ...

    async def reclaim_space(self) -> None: ...


class RetentionWindow:
    """Remembers (time, revision) samples and answers the newest revision old enough to drop history below."""

    def __init__(self, policy: CompactionPolicy) -> None:
        self.policy = policy
        self._samples: deque[tuple[float, int]] = deque()

    def record(self, now: float, revision: int) -> None:
        self._samples.append((now, revision))

    def target(self, now: float, current: int) -> int:
        old_enough = [rev for at, rev in self._samples if at <= now - self.policy.retain_seconds]
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.policy.retain_seconds:
            self._samples.popleft()
        if not old_enough:
            return 0
        return min(old_enough[-1], current - self.policy.retain_revisions)


def reclaim_space(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA incremental_vacuum").fetchall()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


async def maintain_once(store: Compactable, window: RetentionWindow, *, now: float) -> int:
    current = await store.current_revision()
    window.record(now, current)
    target = window.target(now, current)
    if target <= await store.compact_revision():
        return 0
    try:
        await store.compact(target)
    except Compacted:
        return 0
    await store.reclaim_space()
    return target


async def maintain_forever(store: Compactable, policy: CompactionPolicy) -> None:
    window = RetentionWindow(policy)
    while True:
        try:
            compacted = await maintain_once(store, window, now=time.monotonic())
        except StoreError as exc:
            log.warning("store maintenance failed: %s", exc)
        else:
            if compacted:
                log.info("compacted history below revision %d", compacted)
        await asyncio.sleep(policy.interval)
