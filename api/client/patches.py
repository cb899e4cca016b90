"""Patch formats on plain JSON objects: JSON merge patch, strategic merge (by name), JSON patch."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any


class PatchError(ValueError):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


_MERGE_KEYS = {"ownerReferences": "uid", "conditions": "type", "addresses": "type"}


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Merge patch where lists of objects merge by their merge key, as Kubernetes' strategic merge patch.

    A subset: the merge key is ``uid`` for ownerReferences, ``type`` for conditions and addresses,
    ``name`` for any other list of named objects (containers, volumes, env...); an element
    ``{"$patch": "delete", <key>: ...}`` removes the element with that key.
    """
    if not isinstance(patch, Mapping):
        key = _MERGE_KEYS.get(field, "name")
        if _keyed_list(patch, key) and _keyed_list(target, key):
            return _merge_keyed(target, patch, key)
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = strategic_merge_patch(result.get(name), value, name)
    return result


def _keyed_list(value: Any, key: str) -> bool:
    return isinstance(value, list) and all(isinstance(v, Mapping) and key in v for v in value)


def _merge_keyed(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    merged = {item[key]: item for item in target}
    for item in patch:
        if item.get("$patch") == "delete":
            merged.pop(item[key], None)
        else:
            merged[item[key]] = strategic_merge_patch(merged.get(item[key]), item)
    return list(merged.values())


def json_patch(target: Any, operations: Sequence[Mapping[str, Any]]) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test."""
    document = copy.deepcopy(target)
    for operation in operations:
        document = _apply_operation(document, operation)
    return document


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, parts: list[str]) -> Any:
    node = document
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as error:
            raise PatchError(f"path /{'/'.join(parts)} does not exist") from error
    return node


def _get(document: Any, parts: list[str]) -> Any:
    if not parts:
        return document
    parent, last = _parent(document, parts), parts[-1]
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, IndexError, ValueError) as error:
        raise PatchError(f"path /{'/'.join(parts)} does not exist") from error


def _add(document: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return document


def _remove(document: Any, parts: list[str]) -> Any:
    _get(document, parts)
    parent, last = _parent(document, parts), parts[-1]
    del parent[int(last) if isinstance(parent, list) else last]
    return document


def _apply_operation(document: Any, operation: Mapping[str, Any]) -> Any:
    op, parts = operation.get("op"), _pointer(str(operation.get("path", "")))
    if op == "add":
        return _add(document, parts, copy.deepcopy(operation.get("value")))
    if op == "remove":
        return _remove(document, parts)
    if op == "replace":
        return _add(_remove(document, parts), parts, copy.deepcopy(operation.get("value")))
    if op in ("move", "copy"):
        source = _pointer(str(operation.get("from", "")))
        value = copy.deepcopy(_get(document, source))
        if op == "move":
            document = _remove(document, source)
        return _add(document, parts, value)
    if op == "test":
        if _get(document, parts) != operation.get("value"):
            raise PatchError(f"testing value /{'/'.join(parts)} failed")
        return document
    raise PatchError(f"unexpected JSON patch operation {op!r}")
