"""Server-side apply: field ownership per manager in ``metadata.managedFields`` (FieldsV1), conflicts
between managers, ``force``, and removal of fields a manager stopped applying."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api.machinery.patch import Node, child, items, merge_key, resolve, strategic_merge

Path = tuple[str, ...]
IGNORED_METADATA = frozenset({
    "name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
    "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
})


def _key_element(item: dict[str, Any], key: str) -> str:
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))


def field_paths(obj: Any, node: Node, *, top: bool = True) -> set[Path]:
    """Leaf paths of ``obj`` in FieldsV1 spelling (``f:spec``, ``k:{"name":"c"}``, ``v:"x"``)."""
    paths: set[Path] = set()
    if not isinstance(obj, dict):
        return paths
    for key, value in obj.items():
        if top and key in ("apiVersion", "kind", "status"):
            continue
        if top and key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in IGNORED_METADATA}
            if not value:
                continue
        sub = child(node, key)
        for tail in _value_paths(value, sub):
            paths.add((f"f:{key}", *tail))
    return paths


def _value_paths(value: Any, node: Node) -> Iterator[Path]:
    resolved = resolve(node)
    structured = resolved.get("properties") or resolved.get("additionalProperties")
    if isinstance(value, dict) and value and structured:
        for path in field_paths(value, node, top=False):
            yield path
        return
    if isinstance(value, list) and value:
        key = merge_key(node if "x-kubernetes-patch-strategy" in node or "x-kubernetes-list-type" in node
                        else resolve(node))
        if key:
            element = items(node)
            for item in value:
                if isinstance(item, dict):
                    head = _key_element(item, key)
                    yield (head, ".")
                    for path in field_paths(item, element, top=False):
                        yield (head, *path)
            return
        if key == "":
            for item in value:
                yield ("v:" + json.dumps(item, separators=(",", ":")),)
            return
    yield ()


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    if not isinstance(tree, dict):
        return paths
    for element, sub in tree.items():
        if sub:
            paths |= from_fields_v1(sub, (*prefix, element))
        else:
            paths.add((*prefix, element))
    return paths


def value_at(obj: Any, path: Path) -> Any:
    node = obj
    for element in path:
        if element == ".":
            continue
        if element.startswith("f:") and isinstance(node, dict):
            node = node.get(element[2:])
        elif element.startswith("k:") and isinstance(node, list):
            wanted = json.loads(element[2:])
            node = next((i for i in node if _has_keys(i, wanted)), None)
        elif element.startswith("v:") and isinstance(node, list):
            value = json.loads(element[2:])
            node = value if value in node else None
        else:
            return None
        if node is None:
            return None
    return node


def _has_keys(item: Any, wanted: dict[str, Any]) -> bool:
    return isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())


def remove_at(obj: Any, path: Path) -> None:
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last == "." and len(path) > 1:
        remove_at(obj, path[:-1])
        return
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        wanted = json.loads(last[2:])
        parent[:] = [i for i in parent if not _has_keys(i, wanted)]
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        parent[:] = [i for i in parent if i != value]


def describe(path: Path) -> str:
    text = ""
    for element in path:
        if element.startswith("f:"):
            text += "." + element[2:]
        elif element.startswith("k:"):
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(element[2:]).items()) + "]"
        elif element.startswith("v:"):
            text += f"[={element[2:]}]"
    return text


@dataclass(frozen=True)
class ApplyConflict(Exception):
    conflicts: tuple[tuple[str, str, str], ...]  # manager, apiVersion, field

    def message(self) -> str:
        count = len(self.conflicts)
        listed = "\n".join(f'- conflict with "{m}" using {v}: {f}' for m, v, f in self.conflicts)
        if count == 1:
            manager, version, field = self.conflicts[0]
            return f'Apply failed with 1 conflict: conflict with "{manager}" using {version}: {field}'
        return f"Apply failed with {count} conflicts: {listed}"


def _entries(obj: Any) -> list[dict[str, Any]]:
    managed = (obj.get("metadata") or {}).get("managedFields") if isinstance(obj, dict) else None
    return [dict(e) for e in managed or [] if isinstance(e, dict)]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(manager: str, operation: str, api_version: str, paths: set[Path],
           subresource: str) -> dict[str, Any]:
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": _now(),
             "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _same(entry: dict[str, Any], manager: str, operation: str, subresource: str) -> bool:
    return (entry.get("manager") == manager and entry.get("operation") == operation
            and entry.get("subresource", "") == subresource)


def apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str, force: bool, node: Node,
          api_version: str, subresource: str = "") -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: it does not exist yet)."""
    new_paths = field_paths(applied, node)
    base = copy.deepcopy(live) if live is not None else {}
    entries = _entries(base)
    conflicts = []
    others = []
    previous: set[Path] = set()
    for entry in entries:
        paths = from_fields_v1(entry.get("fieldsV1"))
        if _same(entry, manager, "Apply", subresource):
            previous = paths
            continue
        clashing = {p for p in paths & new_paths
                    if p[-1] != "." and value_at(base, p) != value_at(applied, p)}
        if clashing and not force:
            conflicts += [(str(entry.get("manager")), str(entry.get("apiVersion", "")), describe(p))
                          for p in sorted(clashing)]
        if force:
            paths -= clashing
        others.append((entry, paths))
    if conflicts:
        raise ApplyConflict(tuple(conflicts))
    owned_by_others = set().union(*(paths for _, paths in others)) if others else set()
    merged: dict[str, Any] = strategic_merge(base, applied, node)
    for path in sorted(previous - new_paths - owned_by_others, key=len, reverse=True):
        remove_at(merged, path)
    managed = [_entry(manager, "Apply", api_version, new_paths, subresource)]
    managed += [dict(entry, fieldsV1=to_fields_v1(paths)) for entry, paths in others if paths]
    merged.setdefault("metadata", {})["managedFields"] = managed
    return merged


def record_update(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str, node: Node,
                  api_version: str, subresource: str = "") -> None:
    """Gives ``manager`` the fields an Update (create, PUT, non-apply PATCH) set or changed."""
    new_paths = field_paths(new, node) if subresource != "status" else _status_paths(new, node)
    old_obj = old or {}
    changed = {p for p in new_paths if value_at(old_obj, p) != value_at(new, p)} if old else new_paths
    entries = _entries(old_obj) if old else []
    result = []
    mine: set[Path] = set()
    for entry in entries:
        paths = from_fields_v1(entry.get("fieldsV1")) & _all_paths(new, node, subresource)
        if _same(entry, manager, "Update", subresource):
            mine = paths
            continue
        paths -= changed
        if paths:
            result.append(dict(entry, fieldsV1=to_fields_v1(paths)))
    mine = (mine | changed) & new_paths
    if mine:
        result.insert(0, _entry(manager, "Update", api_version, mine, subresource))
    metadata = new.setdefault("metadata", {})
    if result:
        metadata["managedFields"] = result
    else:
        metadata.pop("managedFields", None)


def _status_paths(obj: dict[str, Any], node: Node) -> set[Path]:
    status = obj.get("status")
    return {("f:status", *p) for p in _value_paths(status, child(node, "status"))} if status else set()


def _all_paths(obj: dict[str, Any], node: Node, subresource: str) -> set[Path]:
    return field_paths(obj, node) | _status_paths(obj, node)
