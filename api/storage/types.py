"""Values the store speaks in: key-values, events, transactions and their results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


class EventType(enum.Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True)
class Event:
    """A change at ``kv.mod_revision``. For DELETE, ``kv`` holds the key and the delete's revision."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None


@dataclass(frozen=True)
class WatchBatch:
    """Events of one revision, in order; an empty batch is a progress notification at ``revision``."""

    revision: int
    events: tuple[Event, ...] = ()


class CompareTarget(enum.Enum):
    VERSION = "version"
    CREATE = "create_revision"
    MOD = "mod_revision"
    VALUE = "value"
    LEASE = "lease"


class CompareResult(enum.Enum):
    EQUAL = "=="
    NOT_EQUAL = "!="
    GREATER = ">"
    LESS = "<"


@dataclass(frozen=True)
class Compare:
    key: bytes
    target: CompareTarget
    result: CompareResult
    operand: int | bytes


@dataclass(frozen=True)
class Range:
    """Keys in [key, range_end); an empty range_end means just ``key``, b"\\0" means every key >= key."""

    key: bytes
    range_end: bytes = b""
    revision: int = 0
    limit: int = 0
    keys_only: bool = False
    count_only: bool = False


@dataclass(frozen=True)
class Put:
    key: bytes
    value: bytes
    lease: int = 0


@dataclass(frozen=True)
class DeleteRange:
    key: bytes
    range_end: bytes = b""


Op = Range | Put | DeleteRange


@dataclass(frozen=True)
class Txn:
    compares: tuple[Compare, ...] = ()
    success: tuple[Op, ...] = ()
    failure: tuple[Op, ...] = ()


@dataclass(frozen=True)
class RangeResult:
    revision: int
    kvs: tuple[KeyValue, ...]
    count: int
    more: bool


@dataclass(frozen=True)
class PutResult:
    revision: int
    prev_kv: KeyValue | None


@dataclass(frozen=True)
class DeleteResult:
    revision: int
    deleted: int
    prev_kvs: tuple[KeyValue, ...] = ()


OpResult = RangeResult | PutResult | DeleteResult


@dataclass(frozen=True)
class TxnResult:
    succeeded: bool
    revision: int
    results: tuple[OpResult, ...] = ()


@dataclass(frozen=True)
class GetResult:
    revision: int
    kv: KeyValue | None


@dataclass(frozen=True)
class ListResult:
    """One page of a prefix list; pass ``continue_key`` back to read the next page at the same revision."""

    revision: int
    kvs: tuple[KeyValue, ...]
    count: int
    continue_key: bytes | None = None


@dataclass(frozen=True)
class Lease:
    id: int
    ttl: int


@dataclass(frozen=True)
class LeaseStatus:
    id: int
    granted_ttl: int
    remaining_ttl: int
    keys: tuple[bytes, ...] = field(default=())


@dataclass(frozen=True)
class StoreStatus:
    revision: int
    compact_revision: int
    db_size: int
    version: str
