"""Each kind's shape from the packaged Kubernetes definitions, compiled once per definition: which
fields exist (for fieldValidation's unknown fields) and which JSON types they take (for decoding
errors)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from api.openapi import shared_definitions

_REF = "#/$defs/"
_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class Shape:
    types: tuple[str, ...] = ()  # empty: any JSON value
    fields: dict[str, str | Shape] | None = None  # None: any field (maps, raw extensions)
    items: str | Shape | None = None
    values: str | Shape | None = None


@dataclass
class Problems:
    unknown: list[str] = field(default_factory=list)
    mistyped: list[tuple[str, str, Any]] = field(default_factory=list)  # path, wanted type, value


def _inline(schema: dict[str, Any]) -> str | Shape:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF):
        return ref[len(_REF):]
    kind = schema.get("type")
    kinds = tuple(k for k in ([kind] if isinstance(kind, str) else kind or []) if k != "null")
    if "oneOf" in schema or "anyOf" in schema:
        return Shape()
    properties = schema.get("properties")
    fields = None
    if isinstance(properties, dict):
        fields = {name: _inline(sub) for name, sub in properties.items()}
    items = _inline(schema["items"]) if isinstance(schema.get("items"), dict) else None
    extra = schema.get("additionalProperties")
    values = _inline(extra) if isinstance(extra, dict) else None
    if fields is not None and ("x-kubernetes-preserve-unknown-fields" in schema or extra):
        fields = None
    return Shape(kinds, fields, items, values)


@functools.cache
def shape(name: str) -> Shape:
    compiled = _inline(shared_definitions()[name])
    return compiled if isinstance(compiled, Shape) else shape(compiled)


def _resolve(ref: str | Shape) -> Shape:
    return shape(ref) if isinstance(ref, str) else ref


def _type_ok(value: Any, kinds: tuple[str, ...]) -> bool:
    if not kinds or value is None:
        return True
    for kind in kinds:
        python = _TYPES.get(kind)
        if python is None or (isinstance(value, python) and not (kind in ("integer", "number")
                                                                  and isinstance(value, bool))):
            return True
    return False


def check(name: str, value: Any, *, prune: bool) -> Problems:
    """Unknown and mistyped fields of ``value`` against definition ``name``; unknown ones are removed
    when ``prune`` (what decoding into the typed object does)."""
    problems = Problems()
    _walk(shape(name), value, "", problems, prune)
    return problems


def _walk(node: Shape, value: Any, path: str, problems: Problems, prune: bool) -> None:
    if not _type_ok(value, node.types):
        problems.mistyped.append((path, node.types[0], value))
        return
    if isinstance(value, dict):
        if node.fields is not None:
            for key in list(value):
                sub = node.fields.get(key)
                where = f"{path}.{key}" if path else key
                if sub is None:
                    problems.unknown.append(where)
                    if prune:
                        del value[key]
                    continue
                _walk(_resolve(sub), value[key], where, problems, prune)
        elif node.values is not None:
            values = _resolve(node.values)
            for key, sub_value in value.items():
                _walk(values, sub_value, f"{path}.{key}" if path else key, problems, prune)
    elif isinstance(value, list) and node.items is not None:
        items = _resolve(node.items)
        for index, item in enumerate(value):
            _walk(items, item, f"{path}[{index}]", problems, prune)
