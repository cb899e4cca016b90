"""Tables and connection settings.

``log`` holds one row per change (tombstones included), ordered by ``rev``; ``kv`` points at the
latest live row of each key so current reads need no history scan; ``meta`` holds the revision and
compaction point, written in the same transaction as the changes they describe.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY,
    rev INTEGER NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE INDEX IF NOT EXISTS log_rev ON log (rev);
CREATE TABLE IF NOT EXISTS kv (
    key BLOB PRIMARY KEY,
    log_id INTEGER NOT NULL,
    lease INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 1), ('compact_revision', 0);
"""


def connect(path: Path, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    if writer:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def meta(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return int(row[0])


def set_meta(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE name = ?", (value, name))
