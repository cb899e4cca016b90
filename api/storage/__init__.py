"""The etcd-like store: the ``Store`` protocol and its backends (memory, sqlite, etcd)."""

from api.storage.errors import (
    Compacted,
    Conflict,
    FutureRevision,
    InvalidRequest,
    KeyExists,
    KeyNotFound,
    LeaseNotFound,
    StoreError,
    Unavailable,
    WatchCancelled,
)
from api.storage.keys import prefix_end
from api.storage.protocol import Backend, Store, Watch

__all__ = [
    "Backend",
    "Compacted",
    "Conflict",
    "FutureRevision",
    "InvalidRequest",
    "KeyExists",
    "KeyNotFound",
    "LeaseNotFound",
    "Store",
    "StoreError",
    "Unavailable",
    "Watch",
    "WatchCancelled",
    "prefix_end",
]
