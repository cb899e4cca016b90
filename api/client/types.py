"""What the client's API surface trades in: plain JSON objects, lists, watch events and patch kinds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

Obj = dict[str, Any]


class EventType(Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True, kw_only=True)
class WatchEvent:
    type: EventType
    object: Obj

    @property
    def resource_version(self) -> str:
        return str(self.object.get("metadata", {}).get("resourceVersion", ""))


@dataclass(frozen=True, kw_only=True)
class ObjectList:
    items: tuple[Obj, ...]
    resource_version: str
    continue_token: str | None = None


class PatchType(Enum):
    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"

    @property
    def content_type(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class Selectors:
    """Label and field selectors in their string form (``app=web,tier!=db``, ``spec.nodeName=n1``)."""

    labels: str | None = None
    fields: str | None = None


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects: client-go's MetaNamespaceKeyFunc."""
    metadata = meta(obj)
    namespace = metadata.get("namespace")
    name = str(metadata.get("name", ""))
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str | None, str]:
    namespace, _, name = key.rpartition("/")
    return (namespace or None), name


NO_SELECTORS = Selectors()
