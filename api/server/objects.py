"""Objects in the store: JSON values under kube-apiserver's keys, resourceVersion = mod revision.

The one place store errors become API errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from api.machinery import status as errors
from api.registry.strategy import Object, Strategy
from api.storage import (
    Compacted,
    Conflict,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    Store,
    StoreError,
    Unavailable,
)
from api.storage.types import KeyValue


def encode(obj: Object) -> bytes:
    metadata = obj.get("metadata") or {}
    version = metadata.pop("resourceVersion", None)
    try:
        return orjson.dumps(obj)
    finally:
        if version is not None:
            metadata["resourceVersion"] = version


def decode(value: bytes, revision: int) -> Object:
    obj: Object = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def decode_kv(kv: KeyValue) -> Object:
    return decode(kv.value, kv.mod_revision)


@dataclass(frozen=True)
class Page:
    items: list[Object]
    revision: int
    continue_key: bytes | None
    remaining: int


@contextmanager
def mapped(strategy: Strategy, name: str) -> Iterator[None]:
    try:
        yield
    except KeyExists as exc:
        raise errors.already_exists(strategy.group, strategy.plural, name) from exc
    except KeyNotFound as exc:
        raise errors.not_found(strategy.group, strategy.plural, name) from exc
    except Conflict as exc:
        raise errors.conflict(strategy.group, strategy.plural, name, errors.MODIFIED) from exc
    except Compacted as exc:
        raise errors.expired("The resourceVersion for the provided list is too old.") from exc
    except FutureRevision as exc:
        raise errors.too_large_resource_version(exc.requested, exc.current) from exc
    except Unavailable as exc:
        raise errors.unavailable(f"storage is unavailable: {exc.message}") from exc
    except StoreError as exc:
        raise errors.internal(exc.message) from exc


class Objects:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, strategy: Strategy, namespace: str, name: str, *, revision: int = 0) -> Object:
        with mapped(strategy, name):
            result = await self.store.get(strategy.key(namespace, name), revision=revision)
        if result.kv is None:
            raise errors.not_found(strategy.group, strategy.plural, name)
        return decode_kv(result.kv)

    async def find(self, strategy: Strategy, namespace: str, name: str) -> Object | None:
        with mapped(strategy, name):
            result = await self.store.get(strategy.key(namespace, name))
        return None if result.kv is None else decode_kv(result.kv)

    async def create(self, strategy: Strategy, obj: Object) -> Object:
        metadata = obj["metadata"]
        name = metadata["name"]
        with mapped(strategy, name):
            kv = await self.store.create(strategy.key(metadata.get("namespace", ""), name), encode(obj))
        metadata["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def update(self, strategy: Strategy, obj: Object, expected_revision: int) -> Object:
        metadata = obj["metadata"]
        name = metadata["name"]
        with mapped(strategy, name):
            kv = await self.store.update(
                strategy.key(metadata.get("namespace", ""), name), encode(obj),
                expected_revision=expected_revision,
            )
        metadata["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def delete(self, strategy: Strategy, obj: Object) -> int:
        """Deletes the object at the revision it was read at; returns the delete's revision."""
        metadata = obj["metadata"]
        name = metadata["name"]
        with mapped(strategy, name):
            await self.store.delete(
                strategy.key(metadata.get("namespace", ""), name),
                expected_revision=int(metadata["resourceVersion"]),
            )
            return await self.store.current_revision()

    async def page(
        self, strategy: Strategy, namespace: str, *, revision: int, limit: int, continue_key: bytes | None
    ) -> Page:
        prefix = strategy.list_prefix(namespace)
        with mapped(strategy, ""):
            result = await self.store.list(prefix, revision=revision, limit=limit, continue_key=continue_key)
        items = [decode_kv(kv) for kv in result.kvs]
        remaining = max(result.count - len(items), 0) if result.continue_key else 0
        return Page(items, result.revision, result.continue_key, remaining)

    async def compacted_revision(self) -> int:
        with mapped_any():
            return (await self.store.status()).compact_revision

    async def revision(self) -> int:
        with mapped_any():
            return await self.store.current_revision()


@contextmanager
def mapped_any() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise errors.unavailable(f"storage is unavailable: {exc.message}") from exc


def json_bytes(body: Any) -> bytes:
    return orjson.dumps(body)
