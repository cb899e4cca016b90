"""The four PATCH types' merge rules: RFC 6902 JSON patch, RFC 7386 merge patch and strategic merge
patch (list merge keys and directives from the definitions). Server-side apply builds on the
strategic merge in ``apply``."""

from __future__ import annotations

import copy
from typing import Any

from api.openapi import shared_definitions

_REF = "#/$defs/"
Node = dict[str, Any]
_EMPTY: Node = {}


class PatchError(ValueError):
    """The patch cannot be applied; the message says why, as the apiserver words it."""


# ---- schema navigation -------------------------------------------------------------------------

def resolve(node: Node | None) -> Node:
    """The schema ``node`` refers to (nodes are shared and read-only)."""
    definitions = shared_definitions()
    while node and "$ref" in node:
        node = definitions.get(node["$ref"][len(_REF):])
    return node or _EMPTY


def definition_node(name: str) -> Node:
    return shared_definitions().get(name, {})


def child(node: Node, key: str) -> Node:
    node = resolve(node)
    properties = node.get("properties")
    if properties is not None and key in properties:
        found: Node = properties[key]
        return found
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else _EMPTY


def items(node: Node) -> Node:
    node = resolve(node) if "items" not in node else node
    value = node.get("items")
    return value if isinstance(value, dict) else _EMPTY


def merge_key(node: Node) -> str | None:
    """The list's merge key when its patch strategy merges by key, else None (atomic or primitive)."""
    strategy = str(node.get("x-kubernetes-patch-strategy", ""))
    if "merge" in strategy.split(","):
        key = node.get("x-kubernetes-patch-merge-key")
        return str(key) if key else ""
    keys = node.get("x-kubernetes-list-map-keys")
    if node.get("x-kubernetes-list-type") == "map" and keys:
        return str(keys[0])
    return None


def is_set(node: Node) -> bool:
    return node.get("x-kubernetes-list-type") == "set" or merge_key(node) == ""


# ---- RFC 7386 ----------------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---- RFC 6902 ----------------------------------------------------------------------------------

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'invalid JSON pointer "{path}": must start with "/"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, parts: list[str], path: str) -> Any:
    node = document
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: \"{path}\": missing value")
    return node


def _index(container: list[Any], part: str, path: str, *, insert: bool) -> int:
    if insert and part == "-":
        return len(container)
    if not part.isdigit() or int(part) > len(container) - (0 if insert else 1):
        raise PatchError(f'unable to access invalid index: {part} in path "{path}"')
    return int(part)


def _get(document: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return document
    parent = _parent(document, parts, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, insert=False)]
    raise PatchError(f"doc is missing path: \"{path}\": missing value")


def _remove(document: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _parent(document, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f'unable to remove nonexistent key: {last}: missing value')
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path, insert=False))
    raise PatchError(f"doc is missing path: \"{path}\": missing value")


def _add(document: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(document, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, insert=True), value)
    else:
        raise PatchError(f"doc is missing path: \"{path}\": missing value")
    return document


def json_patch(document: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError("invalid JSON patch operation")
        op, path = operation.get("op"), str(operation.get("path", ""))
        if op in ("add", "replace") and "value" not in operation:
            raise PatchError(f'missing value for "{op}" operation')
        if op == "add":
            document = _add(document, path, copy.deepcopy(operation["value"]))
        elif op == "remove":
            _remove(document, path)
        elif op == "replace":
            _get(document, path)
            if _pointer(path):
                _remove(document, path)
            document = _add(document, path, copy.deepcopy(operation["value"]))
        elif op in ("move", "copy"):
            source = str(operation.get("from", ""))
            value = _remove(document, source) if op == "move" else copy.deepcopy(_get(document, source))
            document = _add(document, path, value)
        elif op == "test":
            if _get(document, path) != operation.get("value"):
                raise PatchError(f'testing value {path} failed: test failed')
        else:
            raise PatchError(f'Unexpected kind: {op}')
    return document


# ---- strategic merge patch ---------------------------------------------------------------------

DIRECTIVE = "$patch"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
RETAIN_KEYS = "$retainKeys"


def strategic_merge(original: Any, patch: Any, node: Node) -> Any:
    """``patch`` applied to ``original`` with the merge rules of schema ``node``."""
    if not isinstance(patch, dict) or not isinstance(original, dict):
        return _clean(copy.deepcopy(patch))
    directive = patch.get(DIRECTIVE)
    if directive == "replace":
        return _clean({k: copy.deepcopy(v) for k, v in patch.items() if k != DIRECTIVE})
    if directive == "delete":
        return None
    result = dict(original)
    retain = patch.get(RETAIN_KEYS)
    for key, value in patch.items():
        if key in (DIRECTIVE, RETAIN_KEYS) or key.startswith(SET_ORDER):
            continue
        if key.startswith(DELETE_PRIMITIVE):
            field = key[len(DELETE_PRIMITIVE):]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
            continue
        sub = child(node, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, resolve(sub) if "$ref" in sub else sub)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key) if isinstance(result.get(key), dict) else {}, value, sub)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    for key, value in patch.items():
        if key.startswith(SET_ORDER) and isinstance(result.get(key[len(SET_ORDER):]), list):
            field = key[len(SET_ORDER):]
            result[field] = _ordered(result[field], value, merge_key(child(node, field)))
    return result


def _ordered(values: list[Any], order: Any, key: str | None) -> list[Any]:
    if not isinstance(order, list):
        return values
    def identity(value: Any) -> Any:
        return _hashable(value.get(key) if key and isinstance(value, dict) else value)

    rank = {identity(item): index for index, item in enumerate(order)}
    return sorted(values, key=lambda v: rank.get(identity(v), len(rank)))


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _merge_list(original: Any, patch: list[Any], node: Node) -> list[Any]:
    key = merge_key(node)
    if key is None or not isinstance(original, list):
        if any(isinstance(item, dict) and DIRECTIVE in item for item in patch):
            patch = [item for item in patch if not (isinstance(item, dict) and DIRECTIVE in item)]
        return list(_clean(copy.deepcopy(patch)))
    if key == "":
        merged = list(original)
        merged += [item for item in patch if item not in merged]
        return merged
    element = items(node)
    result = [dict(item) if isinstance(item, dict) else item for item in original]
    for item in patch:
        if not isinstance(item, dict):
            continue
        if item.get(DIRECTIVE) == "replace":
            kept = [i for i in patch if not (isinstance(i, dict) and i.get(DIRECTIVE) == "replace")]
            return list(_clean(kept))
        position = next((i for i, current in enumerate(result)
                         if isinstance(current, dict) and current.get(key) == item.get(key)), None)
        if item.get(DIRECTIVE) == "delete":
            if position is not None:
                result.pop(position)
            continue
        if position is None:
            result.append(_clean(copy.deepcopy(item)))
        else:
            result[position] = strategic_merge(result[position], item, element)
    return result


def _clean(value: Any) -> Any:
    """Removes directives from values taken whole from a patch."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
