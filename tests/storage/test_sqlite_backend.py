"""What only the embedded SQLite backend promises: durability across reopen, bounded watcher buffers,
scheduled compaction and a file that stays bounded under a steady write load."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from api.storage.errors import Compacted, WatchCancelled
from api.storage.keys import prefix_end
from api.storage.sqlite import SQLiteOptions, SQLiteStore
from api.storage.sqlite.maintenance import CompactionPolicy, RetentionWindow, maintain_once
from tests.storage.watching import next_events

MANUAL = SQLiteOptions(maintain=False)


async def test_state_history_and_leases_survive_reopening(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with SQLiteStore(db, MANUAL) as store:
        first = await store.create(b"/a", b"1")
        second = await store.update(b"/a", b"2", expected_revision=first.mod_revision)
        lease = await store.grant_lease(600)
        leased = await store.create(b"/leased", b"x", lease=lease.id)
        revision = await store.current_revision()
    async with SQLiteStore(db, MANUAL) as store:
        assert await store.current_revision() == revision
        assert (await store.get(b"/a")).kv == second
        assert (await store.get(b"/a", revision=first.mod_revision)).kv == first
        assert lease.id in await store.leases()
        assert (await store.lease_status(lease.id)).keys == (leased.key,)
        watch = await store.watch(b"/a", start_revision=first.mod_revision)
        try:
            events = await next_events(watch, 2)
        finally:
            await watch.close()
        assert [e.kv for e in events] == [first, second]


async def test_a_watcher_that_falls_behind_is_cancelled_with_a_reason(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "state.db", SQLiteOptions(maintain=False, watch_buffer=5)) as store:
        slow = await store.watch(b"/k/", range_end=prefix_end(b"/k/"))
        for i in range(10):
            await store.create(b"/k/%d" % i, b"v")
        with pytest.raises(WatchCancelled, match="fell more than 5 revisions behind"):
            await next_events(slow, 10)
        keeping_up = await store.watch(b"/k/", range_end=prefix_end(b"/k/"), start_revision=2)
        try:
            assert len(await next_events(keeping_up, 10)) == 10
        finally:
            await keeping_up.close()


async def test_compaction_during_a_replay_ends_the_watch_as_compacted(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "state.db", MANUAL) as store:
        first = latest = await store.create(b"/k", b"0")
        for i in range(5):
            latest = await store.update(b"/k", b"%d" % i, expected_revision=latest.mod_revision)
        watch = await store.watch(b"/k", start_revision=first.mod_revision)
        await store.compact(await store.current_revision())
        with pytest.raises(Compacted):
            await next_events(watch, 6)


def test_retention_keeps_the_window_and_the_revision_count() -> None:
    window = RetentionWindow(CompactionPolicy(retain_seconds=300, retain_revisions=100))
    window.record(0, 1_000)
    window.record(200, 2_000)
    assert window.target(250, 2_500) == 0
    assert window.target(310, 3_000) == 1_000
    assert window.target(510, 3_000) == 2_000
    assert window.target(510, 2_050) == 1_950


async def test_steady_updates_with_compaction_keep_the_file_bounded(tmp_path: Path) -> None:
    policy = CompactionPolicy(retain_seconds=0, retain_revisions=10)
    window = RetentionWindow(policy)
    db = tmp_path / "state.db"
    value = b"x" * 2048
    sizes = []
    async with SQLiteStore(db, MANUAL) as store:
        kvs = [await store.create(b"/obj/%03d" % i, value) for i in range(100)]
        for cycle in range(8):
            for index, kv in enumerate(kvs):
                kvs[index] = await store.update(kv.key, value, expected_revision=kv.mod_revision)
            assert await maintain_once(store, window, now=float(cycle)) > 0
            sizes.append((await store.status()).db_size)
    assert max(sizes[3:]) <= sizes[2] * 1.2, sizes
    assert _log_rows(db) < 100 * 3


def _log_rows(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM log").fetchone()[0])
