"""The ``Store`` operations, written once over ``txn`` and ``range`` in the four shapes the apiserver uses."""

from __future__ import annotations

from abc import ABC, abstractmethod

from api.storage.errors import Conflict, InvalidRequest, KeyExists, KeyNotFound
from api.storage.keys import ALL_KEYS, prefix_end
from api.storage.types import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    GetResult,
    KeyValue,
    ListResult,
    Put,
    PutResult,
    Range,
    RangeResult,
    Txn,
    TxnResult,
)


def _absent(key: bytes) -> Compare:
    return Compare(key, CompareTarget.MOD, CompareResult.EQUAL, 0)


def _at_revision(key: bytes, revision: int) -> Compare:
    return Compare(key, CompareTarget.MOD, CompareResult.EQUAL, revision)


def _current_of(result: TxnResult) -> KeyValue | None:
    first = result.results[0]
    assert isinstance(first, RangeResult)
    return first.kvs[0] if first.kvs else None


class KeyValueOps(ABC):
    @abstractmethod
    async def txn(self, txn: Txn) -> TxnResult: ...

    @abstractmethod
    async def range(self, request: Range) -> RangeResult: ...

    async def get(self, key: bytes, *, revision: int = 0) -> GetResult:
        result = await self.range(Range(key, revision=revision))
        return GetResult(revision=result.revision, kv=result.kvs[0] if result.kvs else None)

    async def create(self, key: bytes, value: bytes, *, lease: int = 0) -> KeyValue:
        result = await self.txn(
            Txn(compares=(_absent(key),), success=(Put(key, value, lease),), failure=(Range(key),))
        )
        if not result.succeeded:
            raise KeyExists(key)
        return _written(key, value, result, lease=lease)

    async def update(self, key: bytes, value: bytes, *, expected_revision: int, lease: int = 0) -> KeyValue:
        result = await self.txn(
            Txn(
                compares=(_at_revision(key, expected_revision),),
                success=(Put(key, value, lease),),
                failure=(Range(key),),
            )
        )
        if not result.succeeded:
            current = _current_of(result)
            if current is None:
                raise KeyNotFound(key)
            raise Conflict(key, expected_revision=expected_revision, current=current)
        return _written(key, value, result, lease=lease)

    async def delete(self, key: bytes, *, expected_revision: int | None = None) -> KeyValue:
        compare = (
            Compare(key, CompareTarget.MOD, CompareResult.GREATER, 0)
            if expected_revision is None
            else _at_revision(key, expected_revision)
        )
        result = await self.txn(
            Txn(compares=(compare,), success=(Range(key), DeleteRange(key)), failure=(Range(key),))
        )
        current = _current_of(result)
        if current is None:
            raise KeyNotFound(key)
        if not result.succeeded:
            assert expected_revision is not None
            raise Conflict(key, expected_revision=expected_revision, current=current)
        return current

    async def list(
        self, prefix: bytes, *, revision: int = 0, limit: int = 0, continue_key: bytes | None = None
    ) -> ListResult:
        end = prefix_end(prefix)
        start = (prefix or ALL_KEYS) if continue_key is None else continue_key
        if continue_key is not None and not continue_key.startswith(prefix):
            raise InvalidRequest(f"continue key {continue_key!r} is outside prefix {prefix!r}")
        result = await self.range(Range(start, end, revision=revision, limit=limit))
        next_key = result.kvs[-1].key + b"\0" if result.more and result.kvs else None
        return ListResult(revision=result.revision, kvs=result.kvs, count=result.count, continue_key=next_key)

    async def count(self, prefix: bytes) -> int:
        result = await self.range(Range(prefix or ALL_KEYS, prefix_end(prefix), count_only=True))
        return result.count


def _written(key: bytes, value: bytes, result: TxnResult, *, lease: int) -> KeyValue:
    put = result.results[0]
    assert isinstance(put, PutResult)
    prev = put.prev_kv
    return KeyValue(
        key=key,
        value=value,
        create_revision=prev.create_revision if prev else result.revision,
        mod_revision=result.revision,
        version=prev.version + 1 if prev else 1,
        lease=lease,
    )
