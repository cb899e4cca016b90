"""The informer's local cache: objects by ``namespace/name`` key, with indexes kept as objects change.

Thread-free: it is only touched from the event loop. Objects handed out are the cache's own: read them,
copy before changing.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from api.client.types import Obj, meta, object_key

IndexFunc = Callable[[Obj], Iterable[str]]
NAMESPACE_INDEX = "namespace"


def namespace_index(obj: Obj) -> Iterable[str]:
    namespace = meta(obj).get("namespace")
    return [str(namespace)] if namespace else []


class Store:
    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index, **(indexers or {})}
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        for name, function in indexers.items():
            if name in self._indexers:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = function
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._index(name, key, obj)

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_by_name(self, name: str, namespace: str | None = None) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> builtins.list[Obj]:
        return list(self._items.values())

    def list_keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def by_index(self, index: str, value: str) -> builtins.list[Obj]:
        if index not in self._indices:
            raise KeyError(f"no indexer {index!r}")
        return [self._items[key] for key in sorted(self._indices[index].get(value, ()))]

    def index_values(self, index: str) -> builtins.list[str]:
        return sorted(self._indices[index])

    def put(self, obj: Obj) -> Obj | None:
        """Stores ``obj``; returns what it replaced."""
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name in self._indexers:
            self._index(name, key, obj)
        return old

    def remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _index(self, name: str, key: str, obj: Obj) -> None:
        for value in self._indexers[name](obj):
            self._indices[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, function in self._indexers.items():
            for value in function(obj):
                keys = self._indices[name].get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._indices[name][value]


def by_label(label: str) -> IndexFunc:
    """An index on one label's value (e.g. pods by ``app``)."""

    def index(obj: Obj) -> Iterable[str]:
        labels: Any = meta(obj).get("labels") or {}
        return [str(labels[label])] if label in labels else []

    return index
