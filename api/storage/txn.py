"""Evaluate a transaction against the current state: the one place compare/put/delete semantics live.

Backends that keep their own MVCC state (memory, sqlite) give a ``StateView`` of the latest values,
get back the changes to apply at the next revision and the per-op results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from api.storage.errors import InvalidRequest, LeaseNotFound
from api.storage.keys import in_range
from api.storage.types import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    DeleteResult,
    KeyValue,
    Op,
    OpResult,
    Put,
    PutResult,
    Range,
    RangeResult,
    Txn,
)


class StateView(Protocol):
    def current(self, key: bytes) -> KeyValue | None: ...

    def current_range(self, key: bytes, range_end: bytes) -> list[KeyValue]: ...

    def lease_exists(self, lease_id: int) -> bool: ...


@dataclass(frozen=True)
class Change:
    """``kv`` is the new value, or None for a delete of ``prev``."""

    key: bytes
    kv: KeyValue | None
    prev: KeyValue | None


@dataclass(frozen=True)
class TxnPlan:
    succeeded: bool
    revision: int
    changes: tuple[Change, ...]
    results: tuple[OpResult, ...]


def compare_holds(compare: Compare, kv: KeyValue | None) -> bool:
    if compare.target is CompareTarget.VALUE:
        if kv is None or not isinstance(compare.operand, bytes):
            return False
        return _ordered(kv.value, compare.operand, compare.result)
    if not isinstance(compare.operand, int):
        raise InvalidRequest(f"compare on {compare.target.value} needs an integer operand")
    actual = 0 if kv is None else _int_target(kv, compare.target)
    return _ordered(actual, compare.operand, compare.result)


def _int_target(kv: KeyValue, target: CompareTarget) -> int:
    values = {
        CompareTarget.VERSION: kv.version,
        CompareTarget.CREATE: kv.create_revision,
        CompareTarget.MOD: kv.mod_revision,
        CompareTarget.LEASE: kv.lease,
    }
    return values[target]


def _ordered(actual: int | bytes, operand: int | bytes, result: CompareResult) -> bool:
    if result is CompareResult.EQUAL:
        return actual == operand
    if result is CompareResult.NOT_EQUAL:
        return actual != operand
    if result is CompareResult.GREATER:
        return actual > operand  # type: ignore[operator]
    return actual < operand  # type: ignore[operator]


class _Overlay:
    """The view as seen by later ops of the same transaction."""

    def __init__(self, view: StateView, revision: int) -> None:
        self.view = view
        self.revision = revision
        self.pending: dict[bytes, KeyValue | None] = {}
        self.original: dict[bytes, KeyValue | None] = {}

    def current(self, key: bytes) -> KeyValue | None:
        if key in self.pending:
            return self.pending[key]
        return self.view.current(key)

    def current_range(self, key: bytes, range_end: bytes) -> list[KeyValue]:
        merged = {kv.key: kv for kv in self.view.current_range(key, range_end)}
        for pending_key, kv in self.pending.items():
            if in_range(pending_key, key, range_end):
                if kv is None:
                    merged.pop(pending_key, None)
                else:
                    merged[pending_key] = kv
        return [merged[k] for k in sorted(merged)]

    def write(self, key: bytes, kv: KeyValue | None) -> None:
        if key in self.original:
            raise InvalidRequest(f"key {key!r} is written more than once in one transaction")
        self.original[key] = self.view.current(key)
        self.pending[key] = kv

    def changes(self) -> tuple[Change, ...]:
        return tuple(Change(key, kv, self.original[key]) for key, kv in self.pending.items())


def check_key(key: bytes) -> None:
    if not key:
        raise InvalidRequest("key is not provided")


def plan_txn(txn: Txn, view: StateView, *, current_revision: int) -> TxnPlan:
    for op in (*txn.success, *txn.failure):
        check_key(op.key)
    succeeded = all(compare_holds(c, view.current(c.key)) for c in txn.compares)
    ops = txn.success if succeeded else txn.failure
    overlay = _Overlay(view, current_revision + 1)
    results = [_apply(op, overlay) for op in ops]
    changes = overlay.changes()
    revision = current_revision + 1 if changes else current_revision
    return TxnPlan(
        succeeded=succeeded,
        revision=revision,
        changes=changes,
        results=tuple(replace(result, revision=revision) for result in results),
    )


def _apply(op: Op, overlay: _Overlay) -> OpResult:
    if isinstance(op, Put):
        return _put(op, overlay)
    if isinstance(op, DeleteRange):
        return _delete(op, overlay)
    return _range(op, overlay)


def _put(op: Put, overlay: _Overlay) -> PutResult:
    if op.lease and not overlay.view.lease_exists(op.lease):
        raise LeaseNotFound(op.lease)
    prev = overlay.current(op.key)
    revision = overlay.revision
    kv = KeyValue(
        key=op.key,
        value=op.value,
        create_revision=prev.create_revision if prev else revision,
        mod_revision=revision,
        version=prev.version + 1 if prev else 1,
        lease=op.lease,
    )
    overlay.write(op.key, kv)
    return PutResult(revision=revision, prev_kv=prev)


def _delete(op: DeleteRange, overlay: _Overlay) -> DeleteResult:
    doomed = overlay.current_range(op.key, op.range_end)
    for kv in doomed:
        overlay.write(kv.key, None)
    return DeleteResult(revision=overlay.revision, deleted=len(doomed), prev_kvs=tuple(doomed))


def _range(op: Range, overlay: _Overlay) -> RangeResult:
    if op.revision:
        raise InvalidRequest("a range inside a transaction reads the transaction's own revision")
    kvs = overlay.current_range(op.key, op.range_end)
    return page(kvs, op, revision=overlay.revision)


def page(kvs: list[KeyValue], request: Range, *, revision: int) -> RangeResult:
    """Apply limit/keys_only/count_only to a sorted list of matches."""
    count = len(kvs)
    if request.count_only:
        return RangeResult(revision=revision, kvs=(), count=count, more=False)
    limited = kvs[: request.limit] if request.limit else kvs
    if request.keys_only:
        limited = [replace(kv, value=b"") for kv in limited]
    return RangeResult(revision=revision, kvs=tuple(limited), count=count, more=len(limited) < count)
