"""The cache's indexes stay exact as objects are replaced and removed."""

from __future__ import annotations

import pytest

from api.client.store import Store, by_label


def obj(name: str, namespace: str, app: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"app": app}}}


def test_replacing_an_object_moves_it_between_index_values() -> None:
    store = Store({"app": by_label("app")})
    store.put(obj("a", "ns", "web"))
    old = store.put(obj("a", "ns", "db"))
    assert old is not None and old["metadata"]["labels"] == {"app": "web"}
    assert store.by_index("app", "web") == []
    assert store.index_values("app") == ["db"]


def test_removal_empties_its_index_entries() -> None:
    store = Store()
    store.put(obj("a", "ns", "web"))
    assert store.remove("ns/a") is not None
    assert store.index_values("namespace") == []
    assert store.remove("ns/a") is None


def test_an_indexer_added_later_indexes_what_is_cached() -> None:
    store = Store()
    store.put(obj("a", "ns", "web"))
    store.add_indexers({"app": by_label("app")})
    assert [o["metadata"]["name"] for o in store.by_index("app", "web")] == ["a"]
    with pytest.raises(KeyError):
        store.by_index("missing", "x")
