"""The single writer: one task drains queued jobs and runs them in one SQLite transaction on one thread
(group commit: one fsync for every write that arrived meanwhile), then acknowledges them and pushes
their events to watchers. Revisions are assigned inside the transaction."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from api.storage.errors import StoreError, Unavailable
from api.storage.sqlite.schema import meta, set_meta
from api.storage.txn import Change
from api.storage.types import Event, EventType, KeyValue, WatchBatch


@dataclass
class WriteContext:
    """What a job sees: the connection inside the open transaction and the revision so far."""

    conn: sqlite3.Connection
    revision: int
    compact_revision: int
    batches: list[WatchBatch] = field(default_factory=list)

    def apply(self, revision: int, changes: tuple[Change, ...]) -> None:
        events = [self._write(revision, change) for change in changes]
        self.revision = revision
        self.batches.append(WatchBatch(revision, tuple(events)))

    def _write(self, revision: int, change: Change) -> Event:
        prev_rev = change.prev.mod_revision if change.prev else 0
        if change.kv is None:
            self.conn.execute(
                "INSERT INTO log (rev, key, value, create_rev, version, lease, deleted, prev_rev) "
                "VALUES (?, ?, x'', 0, 0, 0, 1, ?)",
                (revision, change.key, prev_rev),
            )
            self.conn.execute("DELETE FROM kv WHERE key = ?", (change.key,))
            return Event(EventType.DELETE, KeyValue(change.key, b"", 0, revision, 0), change.prev)
        kv = change.kv
        cursor = self.conn.execute(
            "INSERT INTO log (rev, key, value, create_rev, version, lease, deleted, prev_rev) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (revision, kv.key, kv.value, kv.create_revision, kv.version, kv.lease, prev_rev),
        )
        self.conn.execute(
            "INSERT OR REPLACE INTO kv (key, log_id, lease) VALUES (?, ?, ?)",
            (kv.key, cursor.lastrowid, kv.lease),
        )
        return Event(EventType.PUT, kv, change.prev)


Job = Callable[[WriteContext], Any]


@dataclass
class _Queued:
    job: Job
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None


class Writer:
    def __init__(
        self, conn: sqlite3.Connection, *, publish: Callable[[list[WatchBatch]], None], max_group: int
    ) -> None:
        self._conn = conn
        self._publish = publish
        self._max_group = max_group
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._pending: deque[_Queued] = deque()
        self._wakeup = asyncio.Event()
        self.revision = meta(conn, "revision")
        self.compact_revision = meta(conn, "compact_revision")
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="store-writer")

    async def submit(self, job: Job) -> Any:
        if self._closed:
            raise Unavailable("the sqlite store is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(_Queued(job, future))
        self._wakeup.set()
        return await future

    async def run_outside_transaction(self, action: Callable[[sqlite3.Connection], Any]) -> Any:
        """For statements SQLite refuses inside a transaction (checkpoints); serialised with the writes."""
        return await self.submit(_OutsideTransaction(action))

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._pending:
            self._pending.popleft().future.set_exception(Unavailable("the sqlite store is closed"))
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            group = self._next_group()
            outcomes, batches = await loop.run_in_executor(self._thread, self._commit, [q.job for q in group])
            if batches:
                self._publish(batches)
            for queued, outcome in zip(group, outcomes, strict=True):
                if queued.future.done():
                    continue
                if outcome.error is not None:
                    queued.future.set_exception(outcome.error)
                else:
                    queued.future.set_result(outcome.value)

    def _next_group(self) -> list[_Queued]:
        group = [self._pending.popleft()]
        if isinstance(group[0].job, _OutsideTransaction):
            return group
        while (
            self._pending
            and len(group) < self._max_group
            and not isinstance(self._pending[0].job, _OutsideTransaction)
        ):
            group.append(self._pending.popleft())
        return group

    def _commit(self, jobs: list[Job]) -> tuple[list[_Outcome], list[WatchBatch]]:
        if len(jobs) == 1 and isinstance(jobs[0], _OutsideTransaction):
            return [self._outside(jobs[0])], []
        context = WriteContext(self._conn, self.revision, self.compact_revision)
        outcomes: list[_Outcome] = []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                outcomes.append(self._one(job, context))
            set_meta(self._conn, "revision", context.revision)
            set_meta(self._conn, "compact_revision", context.compact_revision)
            self._conn.execute("COMMIT")
        except Exception as exc:  # a failed group must never kill the writer: roll back, fail its jobs
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            failure = Unavailable(f"sqlite write failed: {exc}")
            return [_Outcome(error=failure) for _ in jobs], []
        self.revision = context.revision
        self.compact_revision = context.compact_revision
        return outcomes, context.batches

    @staticmethod
    def _one(job: Job, context: WriteContext) -> _Outcome:
        try:
            return _Outcome(value=job(context))
        except StoreError as exc:
            return _Outcome(error=exc)

    def _outside(self, job: _OutsideTransaction) -> _Outcome:
        try:
            return _Outcome(value=job.action(self._conn))
        except sqlite3.Error as exc:
            return _Outcome(error=Unavailable(f"sqlite maintenance failed: {exc}"))


@dataclass(frozen=True)
class _OutsideTransaction:
    action: Callable[[sqlite3.Connection], Any]

    def __call__(self, context: WriteContext) -> Any:
        raise AssertionError("runs outside a transaction")
