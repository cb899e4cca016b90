"""The ``Store`` protocol: etcd's semantics (global revisions, CAS on mod revision, MVCC reads, watches)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, Self

from api.storage.types import (
    GetResult,
    KeyValue,
    Lease,
    LeaseStatus,
    ListResult,
    Range,
    RangeResult,
    StoreStatus,
    Txn,
    TxnResult,
    WatchBatch,
)


class Watch(Protocol):
    """Batches in revision order, no gaps or duplicates; ends with WatchCancelled or on close."""

    def __aiter__(self) -> AsyncIterator[WatchBatch]: ...

    async def request_progress(self) -> None:
        """Ask for an empty batch at a revision up to which every event has been delivered."""

    async def close(self) -> None: ...


class Backend(Protocol):
    """What each backend implements; the ``Store`` operations are built on it by ``KeyValueOps``."""

    async def txn(self, txn: Txn) -> TxnResult: ...

    async def range(self, request: Range) -> RangeResult: ...

    async def watch(
        self,
        key: bytes,
        *,
        range_end: bytes = b"",
        start_revision: int = 0,
        prev_kv: bool = True,
        progress_notify: bool = False,
    ) -> Watch: ...

    async def compact(self, revision: int) -> None: ...

    async def current_revision(self) -> int: ...

    async def grant_lease(self, ttl: int, *, lease_id: int = 0) -> Lease: ...

    async def keep_alive(self, lease_id: int) -> Lease: ...

    async def revoke_lease(self, lease_id: int) -> None: ...

    async def lease_status(self, lease_id: int) -> LeaseStatus: ...

    async def leases(self) -> tuple[int, ...]: ...

    async def status(self) -> StoreStatus: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...


class Store(Backend, Protocol):
    async def get(self, key: bytes, *, revision: int = 0) -> GetResult: ...

    async def create(self, key: bytes, value: bytes, *, lease: int = 0) -> KeyValue: ...

    async def update(
        self, key: bytes, value: bytes, *, expected_revision: int, lease: int = 0
    ) -> KeyValue: ...

    async def delete(self, key: bytes, *, expected_revision: int | None = None) -> KeyValue: ...

    async def list(
        self, prefix: bytes, *, revision: int = 0, limit: int = 0, continue_key: bytes | None = None
    ) -> ListResult: ...

    async def count(self, prefix: bytes) -> int: ...
