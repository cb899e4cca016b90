"""The store's error tree: every backend raises these; the edges map them once."""

from __future__ import annotations

from api.storage.types import KeyValue


class StoreError(Exception):
    """Base of the tree."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KeyExists(StoreError):
    def __init__(self, key: bytes) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class KeyNotFound(StoreError):
    def __init__(self, key: bytes) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class Conflict(StoreError):
    """The key's mod revision is not the one the writer expected; ``current`` is what is stored now."""

    def __init__(self, key: bytes, *, expected_revision: int, current: KeyValue) -> None:
        super().__init__(
            f"key {key!r} was modified: expected revision {expected_revision}, "
            f"current revision {current.mod_revision}"
        )
        self.key = key
        self.expected_revision = expected_revision
        self.current = current


class Compacted(StoreError):
    def __init__(self, *, requested: int, compact_revision: int) -> None:
        super().__init__(f"revision {requested} has been compacted (oldest available is {compact_revision})")
        self.requested = requested
        self.compact_revision = compact_revision


class FutureRevision(StoreError):
    def __init__(self, *, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is in the future (current revision is {current})")
        self.requested = requested
        self.current = current


class LeaseNotFound(StoreError):
    def __init__(self, lease_id: int) -> None:
        super().__init__(f"lease {lease_id} not found")
        self.lease_id = lease_id


class InvalidRequest(StoreError):
    """A request the store cannot carry out as asked (e.g. a key written twice in one transaction)."""


class WatchCancelled(StoreError):
    """The watch ended on the store's side; ``reason`` says why (e.g. the watcher fell behind)."""


class Unavailable(StoreError):
    """The store cannot be reached or is closed."""
