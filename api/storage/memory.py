"""The in-memory backend: the reference model of the store's semantics, used by fast tests."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from dataclasses import dataclass
from typing import Self

from api.storage.errors import Compacted, FutureRevision, Unavailable
from api.storage.keys import in_range
from api.storage.leases import LeaseTable, expire_leases_forever
from api.storage.ops import KeyValueOps
from api.storage.txn import Change, check_key, page, plan_txn
from api.storage.types import (
    DeleteRange,
    Event,
    EventType,
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

VERSION = "tinykube-memory"


@dataclass(frozen=True)
class _Version:
    revision: int
    kv: KeyValue | None


class _MemoryView:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def current(self, key: bytes) -> KeyValue | None:
        return self.store._current.get(key)

    def current_range(self, key: bytes, range_end: bytes) -> list[KeyValue]:
        current = self.store._current
        return [current[k] for k in sorted(current) if in_range(k, key, range_end)]

    def lease_exists(self, lease_id: int) -> bool:
        return self.store._leases.exists(lease_id)


class MemoryStore(KeyValueOps):
    def __init__(self, *, watch_buffer: int = 10_000) -> None:
        self._revision = 1  # etcd starts at revision 1 with no keys
        self._compacted = 0
        self._current: dict[bytes, KeyValue] = {}
        self._versions: dict[bytes, list[_Version]] = {}
        self._log: list[WatchBatch] = []
        self._leases = LeaseTable()
        self._hub = WatchHub(buffer=watch_buffer)
        self._hub.revision = self._revision
        self._expiry: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        self._expiry = asyncio.create_task(expire_leases_forever(self._leases, self.revoke_lease))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        self._hub.close("the store is closed")
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("the memory store is closed")

    async def current_revision(self) -> int:
        return self._revision

    async def txn(self, txn: Txn) -> TxnResult:
        self._check_open()
        plan = plan_txn(txn, _MemoryView(self), current_revision=self._revision)
        if plan.changes:
            self._apply(plan.revision, plan.changes)
        return TxnResult(succeeded=plan.succeeded, revision=plan.revision, results=plan.results)

    def _apply(self, revision: int, changes: tuple[Change, ...]) -> None:
        self._revision = revision
        events = []
        for change in changes:
            self._versions.setdefault(change.key, []).append(_Version(revision, change.kv))
            if change.kv is None:
                self._current.pop(change.key, None)
                deleted = KeyValue(change.key, b"", 0, revision, 0)
                events.append(Event(EventType.DELETE, deleted, change.prev))
            else:
                self._current[change.key] = change.kv
                events.append(Event(EventType.PUT, change.kv, change.prev))
        batch = WatchBatch(revision, tuple(events))
        self._log.append(batch)
        self._hub.publish([batch])

    def _check_revision(self, revision: int) -> int:
        if revision <= 0:
            return self._revision
        if revision > self._revision:
            raise FutureRevision(requested=revision, current=self._revision)
        if revision < self._compacted:
            raise Compacted(requested=revision, compact_revision=self._compacted)
        return revision

    async def range(self, request: Range) -> RangeResult:
        self._check_open()
        check_key(request.key)
        revision = self._check_revision(request.revision)
        keys = sorted(k for k in self._versions if in_range(k, request.key, request.range_end))
        kvs = [kv for kv in (self._value_at(k, revision) for k in keys) if kv is not None]
        result = page(kvs, request, revision=revision)
        return RangeResult(self._revision, result.kvs, result.count, result.more)

    def _value_at(self, key: bytes, revision: int) -> KeyValue | None:
        versions = self._versions[key]
        index = bisect.bisect_right([v.revision for v in versions], revision) - 1
        return versions[index].kv if index >= 0 else None

    async def watch(
        self,
        key: bytes,
        *,
        range_end: bytes = b"",
        start_revision: int = 0,
        prev_kv: bool = True,
        progress_notify: bool = False,
    ) -> HubWatch:
        self._check_open()
        if 0 < start_revision < self._compacted:
            raise Compacted(requested=start_revision, compact_revision=self._compacted)
        queue = self._hub.subscribe(WatchFilter(key, range_end, prev_kv))
        return HubWatch(
            self._hub,
            queue,
            history=self._history,
            start_revision=start_revision or self._revision + 1,
            snapshot_revision=self._revision,
        )

    async def _history(self, first: int, last: int) -> list[WatchBatch]:
        if first < self._compacted:
            raise Compacted(requested=first, compact_revision=self._compacted)
        return [b for b in self._log if first <= b.revision <= last]

    async def compact(self, revision: int) -> None:
        self._check_open()
        if revision > self._revision:
            raise FutureRevision(requested=revision, current=self._revision)
        if revision <= self._compacted:
            raise Compacted(requested=revision, compact_revision=self._compacted)
        self._compacted = revision
        self._log = [b for b in self._log if b.revision >= revision]
        for key in list(self._versions):
            kept = self._kept_versions(self._versions[key], revision)
            if kept:
                self._versions[key] = kept
            else:
                del self._versions[key]

    @staticmethod
    def _kept_versions(versions: list[_Version], revision: int) -> list[_Version]:
        older = [v for v in versions if v.revision <= revision]
        newer = [v for v in versions if v.revision > revision]
        base = older[-1:] if older and (older[-1].kv is not None or older[-1].revision == revision) else []
        return base + newer

    async def grant_lease(self, ttl: int, *, lease_id: int = 0) -> Lease:
        self._check_open()
        return self._leases.grant(ttl, lease_id=lease_id)

    async def keep_alive(self, lease_id: int) -> Lease:
        self._check_open()
        return self._leases.keep_alive(lease_id)

    async def revoke_lease(self, lease_id: int) -> None:
        self._check_open()
        self._leases.remove(lease_id)
        doomed = tuple(DeleteRange(kv.key) for kv in self._current.values() if kv.lease == lease_id)
        if doomed:
            await self.txn(Txn(success=doomed))

    async def lease_status(self, lease_id: int) -> LeaseStatus:
        self._check_open()
        keys = tuple(sorted(kv.key for kv in self._current.values() if kv.lease == lease_id))
        return LeaseStatus(
            id=lease_id,
            granted_ttl=self._leases.granted_ttl(lease_id),
            remaining_ttl=self._leases.remaining(lease_id),
            keys=keys,
        )

    async def leases(self) -> tuple[int, ...]:
        return self._leases.ids()

    async def status(self) -> StoreStatus:
        size = sum(len(kv.key) + len(kv.value) for kv in self._current.values())
        return StoreStatus(self._revision, self._compacted, size, VERSION)
