"""``SQLiteStore``: the default, embedded backend."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from api.storage.errors import Compacted, FutureRevision, Unavailable
from api.storage.leases import LeaseTable, expire_leases_forever
from api.storage.ops import KeyValueOps
from api.storage.sqlite import queries
from api.storage.sqlite.maintenance import CompactionPolicy, maintain_forever, reclaim_space
from api.storage.sqlite.schema import connect, meta
from api.storage.sqlite.writer import WriteContext, Writer
from api.storage.txn import check_key, plan_txn
from api.storage.types import (
    DeleteRange,
    KeyValue,
    Lease,
    LeaseStatus,
    Range,
    RangeResult,
    StoreStatus,
    Txn,
    TxnResult,
    WatchBatch,
)
from api.storage.watchhub import HubWatch, WatchFilter, WatchHub

VERSION = "tinykube-sqlite"


@dataclass(frozen=True)
class SQLiteOptions:
    watch_buffer: int = 10_000
    max_group: int = 512
    compaction: CompactionPolicy = field(default_factory=CompactionPolicy)
    maintain: bool = True


class _WriterView:
    def __init__(self, conn: sqlite3.Connection, leases: LeaseTable) -> None:
        self.conn = conn
        self.leases = leases

    def current(self, key: bytes) -> KeyValue | None:
        return queries.current(self.conn, key)

    def current_range(self, key: bytes, range_end: bytes) -> list[KeyValue]:
        return queries.current_range(self.conn, key, range_end)

    def lease_exists(self, lease_id: int) -> bool:
        return self.leases.exists(lease_id)


class _Readers:
    """One read connection per worker thread; WAL readers never block the writer."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, writer=False)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def _snapshot_range(conn: sqlite3.Connection, request: Range) -> RangeResult:
    conn.execute("BEGIN")
    try:
        current = meta(conn, "revision")
        revision = _readable_revision(conn, request.revision, current)
        return _range_in_snapshot(conn, request, revision=revision, current=current)
    finally:
        conn.execute("COMMIT")


def _readable_revision(conn: sqlite3.Connection, requested: int, current: int) -> int:
    if requested <= 0:
        return current
    if requested > current:
        raise FutureRevision(requested=requested, current=current)
    compacted = meta(conn, "compact_revision")
    if requested < compacted:
        raise Compacted(requested=requested, compact_revision=compacted)
    return requested


def _range_in_snapshot(
    conn: sqlite3.Connection, request: Range, *, revision: int, current: int
) -> RangeResult:
    key, end = request.key, request.range_end
    if revision == current:
        count = queries.current_count(conn, key, end)
        fetch = [] if request.count_only else queries.current_range(conn, key, end, limit=request.limit)
    else:
        count = queries.count_at(conn, key, end, revision=revision)
        fetch = (
            []
            if request.count_only
            else queries.range_at(conn, key, end, revision=revision, limit=request.limit)
        )
    if request.keys_only:
        fetch = [
            KeyValue(kv.key, b"", kv.create_revision, kv.mod_revision, kv.version, kv.lease) for kv in fetch
        ]
    more = not request.count_only and len(fetch) < count
    return RangeResult(revision=current, kvs=tuple(fetch), count=count, more=more)


def _snapshot_history(conn: sqlite3.Connection, first: int, last: int) -> list[WatchBatch]:
    conn.execute("BEGIN")
    try:
        compacted = meta(conn, "compact_revision")
        if first < compacted:
            raise Compacted(requested=first, compact_revision=compacted)
        return queries.history(conn, first, last)
    finally:
        conn.execute("COMMIT")


class SQLiteStore(KeyValueOps):
    def __init__(self, path: Path, options: SQLiteOptions | None = None) -> None:
        self.path = path
        self.options = options or SQLiteOptions()
        self._hub = WatchHub(buffer=self.options.watch_buffer)
        self._leases = LeaseTable()
        self._readers = _Readers(path)
        self._writer: Writer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await asyncio.to_thread(connect, self.path, writer=True)
        for lease_id, ttl in await asyncio.to_thread(
            lambda: conn.execute("SELECT id, ttl FROM leases").fetchall()
        ):
            self._leases.restore(lease_id, ttl)
        self._writer = Writer(conn, publish=self._hub.publish, max_group=self.options.max_group)
        self._hub.revision = self._writer.revision
        self._writer.start()
        self._tasks.append(asyncio.create_task(expire_leases_forever(self._leases, self.revoke_lease)))
        if self.options.maintain:
            self._tasks.append(asyncio.create_task(maintain_forever(self, self.options.compaction)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._hub.close("the store is closed")
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        await asyncio.to_thread(self._readers.close)

    @property
    def writer(self) -> Writer:
        if self._writer is None:
            raise Unavailable("the sqlite store is not open")
        return self._writer

    async def _read(self, action: Any, *args: Any) -> Any:
        self.writer  # noqa: B018 - raises Unavailable when closed
        return await asyncio.to_thread(lambda: action(self._readers.connection(), *args))

    async def current_revision(self) -> int:
        return self.writer.revision

    async def compact_revision(self) -> int:
        return self.writer.compact_revision

    async def txn(self, txn: Txn) -> TxnResult:
        def job(context: WriteContext) -> TxnResult:
            plan = plan_txn(txn, _WriterView(context.conn, self._leases), current_revision=context.revision)
            if plan.changes:
                context.apply(plan.revision, plan.changes)
            return TxnResult(succeeded=plan.succeeded, revision=plan.revision, results=plan.results)

        result: TxnResult = await self.writer.submit(job)
        return result

    async def range(self, request: Range) -> RangeResult:
        check_key(request.key)
        result: RangeResult = await self._read(_snapshot_range, request)
        return result

    async def watch(
        self,
        key: bytes,
        *,
        range_end: bytes = b"",
        start_revision: int = 0,
        prev_kv: bool = True,
        progress_notify: bool = False,
    ) -> HubWatch:
        writer = self.writer
        if 0 < start_revision < writer.compact_revision:
            raise Compacted(requested=start_revision, compact_revision=writer.compact_revision)
        queue = self._hub.subscribe(WatchFilter(key, range_end, prev_kv))
        snapshot = writer.revision
        return HubWatch(
            self._hub,
            queue,
            history=self._history,
            start_revision=start_revision or snapshot + 1,
            snapshot_revision=snapshot,
        )

    async def _history(self, first: int, last: int) -> list[WatchBatch]:
        batches: list[WatchBatch] = await self._read(_snapshot_history, first, last)
        return batches

    async def compact(self, revision: int) -> None:
        def job(context: WriteContext) -> None:
            if revision > context.revision:
                raise FutureRevision(requested=revision, current=context.revision)
            if revision <= context.compact_revision:
                raise Compacted(requested=revision, compact_revision=context.compact_revision)
            context.conn.execute(
                "DELETE FROM log WHERE rev < ?1 AND (deleted = 1 OR EXISTS "
                "(SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= ?1))",
                (revision,),
            )
            context.compact_revision = revision

        await self.writer.submit(job)

    async def reclaim_space(self) -> None:
        await self.writer.run_outside_transaction(reclaim_space)

    async def grant_lease(self, ttl: int, *, lease_id: int = 0) -> Lease:
        lease = self._leases.grant(ttl, lease_id=lease_id)

        def job(context: WriteContext) -> None:
            context.conn.execute("INSERT INTO leases (id, ttl) VALUES (?, ?)", (lease.id, lease.ttl))

        try:
            await self.writer.submit(job)
        except BaseException:
            self._leases.remove(lease.id)
            raise
        return lease

    async def keep_alive(self, lease_id: int) -> Lease:
        self.writer  # noqa: B018 - raises Unavailable when closed
        return self._leases.keep_alive(lease_id)

    async def revoke_lease(self, lease_id: int) -> None:
        self._leases.remove(lease_id)

        def job(context: WriteContext) -> None:
            context.conn.execute("DELETE FROM leases WHERE id = ?", (lease_id,))
            doomed = tuple(DeleteRange(key) for key in queries.keys_with_lease(context.conn, lease_id))
            plan = plan_txn(
                Txn(success=doomed),
                _WriterView(context.conn, self._leases),
                current_revision=context.revision,
            )
            if plan.changes:
                context.apply(plan.revision, plan.changes)

        await self.writer.submit(job)

    async def lease_status(self, lease_id: int) -> LeaseStatus:
        granted, remaining = self._leases.granted_ttl(lease_id), self._leases.remaining(lease_id)
        keys: list[bytes] = await self._read(queries.keys_with_lease, lease_id)
        return LeaseStatus(id=lease_id, granted_ttl=granted, remaining_ttl=remaining, keys=tuple(keys))

    async def leases(self) -> tuple[int, ...]:
        return self._leases.ids()

    async def status(self) -> StoreStatus:
        writer = self.writer
        size = await asyncio.to_thread(self._disk_size)
        return StoreStatus(writer.revision, writer.compact_revision, size, VERSION)

    def _disk_size(self) -> int:
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        return sum(f.stat().st_size for f in files if f.exists())
