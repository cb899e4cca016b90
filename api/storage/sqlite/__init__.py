"""The embedded SQLite backend: an append-only revision log (like kine) with a single writer task."""

from api.storage.sqlite.store import SQLiteOptions, SQLiteStore

__all__ = ["SQLiteOptions", "SQLiteStore"]
