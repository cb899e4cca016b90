"""Read queries over one connection (the writer's inside its transaction, or a reader's snapshot)."""

from __future__ import annotations

import sqlite3
from typing import Any

from api.storage.keys import ALL_KEYS
from api.storage.types import Event, EventType, KeyValue, WatchBatch

_KV_COLUMNS = "l.key, l.value, l.create_rev, l.rev, l.version, l.lease"


def key_condition(column: str, key: bytes, range_end: bytes) -> tuple[str, tuple[bytes, ...]]:
    if not range_end:
        return f"{column} = ?", (key,)
    if range_end == ALL_KEYS:
        return f"{column} >= ?", (key,)
    return f"{column} >= ? AND {column} < ?", (key, range_end)


def _kv(row: Any) -> KeyValue:
    return KeyValue(
        key=row[0], value=row[1], create_revision=row[2], mod_revision=row[3], version=row[4], lease=row[5]
    )


def current(conn: sqlite3.Connection, key: bytes) -> KeyValue | None:
    row = conn.execute(
        f"SELECT {_KV_COLUMNS} FROM kv JOIN log l ON l.id = kv.log_id WHERE kv.key = ?", (key,)
    ).fetchone()
    return None if row is None else _kv(row)


def current_range(
    conn: sqlite3.Connection, key: bytes, range_end: bytes, *, limit: int = 0
) -> list[KeyValue]:
    where, args = key_condition("kv.key", key, range_end)
    sql = f"SELECT {_KV_COLUMNS} FROM kv JOIN log l ON l.id = kv.log_id WHERE {where} ORDER BY kv.key"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_kv(row) for row in conn.execute(sql, args)]


def current_count(conn: sqlite3.Connection, key: bytes, range_end: bytes) -> int:
    where, args = key_condition("key", key, range_end)
    return int(conn.execute(f"SELECT count(*) FROM kv WHERE {where}", args).fetchone()[0])


def range_at(
    conn: sqlite3.Connection, key: bytes, range_end: bytes, *, revision: int, limit: int = 0
) -> list[KeyValue]:
    where, args = key_condition("l.key", key, range_end)
    sql = (
        f"SELECT {_KV_COLUMNS} FROM log l WHERE {where} AND l.deleted = 0 AND l.rev = "
        "(SELECT max(m.rev) FROM log m WHERE m.key = l.key AND m.rev <= ?) ORDER BY l.key"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_kv(row) for row in conn.execute(sql, (*args, revision))]


def count_at(conn: sqlite3.Connection, key: bytes, range_end: bytes, *, revision: int) -> int:
    where, args = key_condition("l.key", key, range_end)
    sql = (
        f"SELECT count(*) FROM log l WHERE {where} AND l.deleted = 0 AND l.rev = "
        "(SELECT max(m.rev) FROM log m WHERE m.key = l.key AND m.rev <= ?)"
    )
    return int(conn.execute(sql, (*args, revision)).fetchone()[0])


def history(conn: sqlite3.Connection, first: int, last: int) -> list[WatchBatch]:
    rows = conn.execute(
        "SELECT l.rev, l.key, l.value, l.create_rev, l.version, l.lease, l.deleted, "
        "p.value, p.create_rev, p.rev, p.version, p.lease "
        "FROM log l LEFT JOIN log p ON p.key = l.key AND p.rev = l.prev_rev "
        "WHERE l.rev BETWEEN ? AND ? ORDER BY l.id",
        (first, last),
    )
    batches: list[WatchBatch] = []
    events: list[Event] = []
    revision = 0
    for row in rows:
        if row[0] != revision and events:
            batches.append(WatchBatch(revision, tuple(events)))
            events = []
        revision = row[0]
        events.append(_event(row))
    if events:
        batches.append(WatchBatch(revision, tuple(events)))
    return batches


def _event(row: Any) -> Event:
    rev, key, value, create_rev, version, lease, deleted = row[:7]
    prev = None if row[9] is None else KeyValue(key, row[7], row[8], row[9], row[10], row[11])
    if deleted:
        return Event(EventType.DELETE, KeyValue(key, b"", 0, rev, 0), prev)
    return Event(EventType.PUT, KeyValue(key, value, create_rev, rev, version, lease), prev)


def keys_with_lease(conn: sqlite3.Connection, lease_id: int) -> list[bytes]:
    return [row[0] for row in conn.execute("SELECT key FROM kv WHERE lease = ? ORDER BY key", (lease_id,))]
