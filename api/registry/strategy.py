"""What the apiserver knows about a kind, as data: identity, store layout, defaulting, validation,
printing and selectable fields. Adding a resource is adding a ``Strategy``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.meta.errors import FieldError

Object = dict[str, Any]
Defaulter = Callable[[Object], None]
Validator = Callable[[Object], list[FieldError]]
FieldGetter = Callable[[Object], str]
CellGetter = Callable[[Object], Any]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    cell: CellGetter
    description: str = ""
    format: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def _nothing(obj: Object) -> None:
    return None


def _valid(obj: Object) -> list[FieldError]:
    return []


@dataclass(frozen=True)
class Strategy:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    store_prefix: str = ""  # defaults to the plural; services live under "services/specs"
    definition: str = ""  # the OpenAPI definition name, e.g. io.k8s.api.core.v1.Pod
    name_is_label: bool = False  # DNS-1123 label (63) instead of subdomain (253)
    has_generation: bool = False
    default: Defaulter = _nothing
    validate: Validator = _valid
    columns: tuple[Column, ...] = ()
    selectable_fields: dict[str, FieldGetter] = field(default_factory=dict)
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def prefix(self) -> str:
        return "/registry/" + (self.store_prefix or self.plural) + "/"

    def key(self, namespace: str, name: str) -> bytes:
        if self.namespaced:
            return f"{self.prefix}{namespace}/{name}".encode()
        return f"{self.prefix}{name}".encode()

    def list_prefix(self, namespace: str) -> bytes:
        if self.namespaced and namespace:
            return f"{self.prefix}{namespace}/".encode()
        return self.prefix.encode()

    @property
    def field_names(self) -> frozenset[str]:
        base = {"metadata.name"} | ({"metadata.namespace"} if self.namespaced else set())
        return frozenset(base | set(self.selectable_fields))

    def fields_of(self, obj: Object) -> dict[str, str]:
        metadata = obj.get("metadata") or {}
        fields = {"metadata.name": metadata.get("name", "")}
        if self.namespaced:
            fields["metadata.namespace"] = metadata.get("namespace", "")
        for name, getter in self.selectable_fields.items():
            fields[name] = getter(obj)
        return fields
