"""Reading requests: required fields answer INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message

from cri.convert import from_proto
from cri.errors import missing_field

T = TypeVar("T")


def required_id(request: Message, name: str) -> str:
    value: str = getattr(request, name)
    if not value:
        raise missing_field(name)
    return value


def required(request: Message, name: str, cls: type[T]) -> T:
    """The sub-message ``name`` as domain type ``cls``; InvalidArgument when unset."""
    if not request.HasField(name):
        raise missing_field(name)
    return from_proto(getattr(request, name), cls)


def optional(request: Message, name: str, cls: type[T]) -> T | None:
    return from_proto(getattr(request, name), cls) if request.HasField(name) else None


def require_attr(obj: Any, path: str) -> None:
    """Fail unless dotted attribute ``path`` of a domain object is set (not None, not empty)."""
    value = obj
    for part in path.split(".")[1:]:
        value = getattr(value, part, None)
        if value is None or value == "":
            raise missing_field(path)
