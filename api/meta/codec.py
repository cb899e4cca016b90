"""One reflective codec between JSON-shaped dicts (camelCase, omitempty) and frozen dataclasses.

Field names are snake_case; the JSON name is their camelCase form, except the few initialisms
Kubernetes spells in capitals (``hostIP``, ``containerID``...). ``Quantity`` fields accept the
numbers YAML produces (``cpu: 1``) and keep them as strings. ``Any`` fields hold raw JSON for
parts of the API the node does not interpret (affinity, tolerations' consumers...).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from api.meta.errors import ErrorType, FieldError, type_invalid

T = TypeVar("T")

QUANTITY_MARK = "quantity"
Quantity = Annotated[str, QUANTITY_MARK]
IntOrString = int | str

_INITIALISMS = {
    "host_ip": "hostIP",
    "host_ips": "hostIPs",
    "pod_ip": "podIP",
    "pod_ips": "podIPs",
    "container_id": "containerID",
    "image_id": "imageID",
    "host_pid": "hostPID",
    "host_ipc": "hostIPC",
    "set_hostname_as_fqdn": "setHostnameAsFQDN",
    "uid": "uid",
    "downward_api": "downwardAPI",
    "scale_io": "scaleIO",
    "cluster_dns": "clusterDNS",
}


def json_name(field_name: str) -> str:
    if field_name in _INITIALISMS:
        return _INITIALISMS[field_name]
    head, *rest = field_name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, str, Any], ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple((f.name, json_name(f.name), hints[f.name]) for f in dataclasses.fields(cls))


class Decoder:
    """Decodes one document, collecting type errors and unknown fields with their paths."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.unknown_fields: list[str] = []

    def decode(self, cls: type[T], data: Any, path: str = "") -> T | None:
        result = self._value(cls, data, path)
        return typing.cast("T | None", result)

    def _value(self, hint: Any, data: Any, path: str) -> Any:
        origin = get_origin(hint)
        if origin is Annotated:
            base, *marks = get_args(hint)
            if QUANTITY_MARK in marks and isinstance(data, int | float) and not isinstance(data, bool):
                return str(data)
            return self._value(base, data, path)
        if origin in (Union, types.UnionType):
            return self._union(hint, data, path)
        if hint is Any:
            return data
        if data is None:
            return None
        if origin is tuple:
            return self._sequence(get_args(hint)[0], data, path)
        if origin in (Mapping, dict):
            return self._mapping(get_args(hint)[1], data, path)
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            return self._object(hint, data, path)
        return self._scalar(hint, data, path)

    def _union(self, hint: Any, data: Any, path: str) -> Any:
        options = [a for a in get_args(hint) if a is not type(None)]
        if data is None:
            return None
        if options == [int, str]:
            if isinstance(data, int | str) and not isinstance(data, bool):
                return data
            self.errors.append(type_invalid(path, data, "must be an integer or a string"))
            return None
        return self._value(options[0], data, path)

    def _sequence(self, item: Any, data: Any, path: str) -> tuple[Any, ...] | None:
        if not isinstance(data, list):
            self.errors.append(type_invalid(path, data, "must be a list"))
            return None
        return tuple(self._value(item, v, f"{path}[{i}]") for i, v in enumerate(data))

    def _mapping(self, value_hint: Any, data: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.errors.append(type_invalid(path, data, "must be an object"))
            return None
        return {str(k): self._value(value_hint, v, f"{path}[{k}]") for k, v in data.items()}

    def _object(self, cls: type, data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            self.errors.append(type_invalid(path or "<root>", data, "must be an object"))
            return None
        prefix = f"{path}." if path else ""
        known = {jname for _, jname, _ in _fields(cls)}
        self.unknown_fields.extend(f"{prefix}{k}" for k in data if k not in known)
        kwargs = {}
        for name, jname, hint in _fields(cls):
            if jname in data:
                value = self._value(hint, data[jname], f"{prefix}{jname}")
                if value is not None:
                    kwargs[name] = value
        return cls(**kwargs)

    def _scalar(self, hint: Any, data: Any, path: str) -> Any:
        if hint is bool:
            ok = isinstance(data, bool)
        elif hint is int:
            ok = isinstance(data, int) and not isinstance(data, bool)
        elif hint is float:
            ok = isinstance(data, int | float) and not isinstance(data, bool)
        elif hint is str:
            ok = isinstance(data, str)
        else:
            raise TypeError(f"codec: unsupported type {hint!r} at {path}")
        if not ok:
            self.errors.append(type_invalid(path, data, f"must be of type {hint.__name__}"))
            return None
        return data


def unknown_field_errors(paths: list[str]) -> list[FieldError]:
    return [FieldError(type=ErrorType.UNKNOWN, field=p) for p in paths]


_SCALARS = frozenset({str, int, float, bool, type(None)})
_ENCODE_PLANS: dict[type, tuple[tuple[str, str], ...] | None] = {}


def _encode_plan(cls: type) -> tuple[tuple[str, str], ...] | None:
    """(field name, JSON name) of a dataclass type; None for any other type."""
    if cls not in _ENCODE_PLANS:
        is_object = dataclasses.is_dataclass(cls)
        _ENCODE_PLANS[cls] = tuple((name, jname) for name, jname, _ in _fields(cls)) if is_object else None
    return _ENCODE_PLANS[cls]


def encode(obj: Any) -> Any:
    """A dataclass tree as the JSON the apiserver writes: camelCase names, empty values omitted."""
    cls = type(obj)
    if cls in _SCALARS:
        return obj
    plan = _encode_plan(cls)
    if plan is not None:
        out: dict[str, Any] = {}
        for name, jname in plan:
            raw = getattr(obj, name)
            if raw is None:
                continue
            value = encode(raw)
            if value or type(value) not in (list, dict) or _encode_plan(type(raw)) is not None:
                out[jname] = value
        return out
    if isinstance(obj, tuple | list):
        return [encode(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: encode(v) for k, v in obj.items()}
    return obj
