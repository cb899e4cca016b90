"""Conversion between domain dataclasses and runtime.v1 protobuf messages, both ways, in one place.

Domain field names equal protobuf field names. A conversion plan per (dataclass, message) pair is
built once from the type hints and the message descriptor, then reused.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from google.protobuf import message_factory
from google.protobuf.message import Message

T = TypeVar("T")
M = TypeVar("M", bound=Message)

_WRAPPERS = frozenset({"Int64Value", "UInt64Value"})


@dataclasses.dataclass(frozen=True, slots=True)
class _FieldPlan:
    name: str
    read: Callable[[Message], Any]
    write: Callable[[Message, Any], None]


def _strip_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _element_reader(elem: Any) -> Callable[[Any], Any]:
    if _is_dataclass_type(elem):
        return lambda value: from_proto(value, elem)
    if isinstance(elem, type) and issubclass(elem, enum.IntEnum):
        return lambda value: _enum_value(elem, value)
    return lambda value: value


def _enum_value(cls: type[enum.IntEnum], value: int) -> Any:
    try:
        return cls(value)
    except ValueError:
        return value


def _plan_field(name: str, hint: Any, message_cls: type[Message]) -> _FieldPlan:
    descriptor = message_cls.DESCRIPTOR.fields_by_name[name]
    origin = typing.get_origin(hint)
    target = _strip_optional(hint)
    if origin is Mapping or typing.get_origin(target) is Mapping:
        return _FieldPlan(name, lambda m: dict(getattr(m, name)), _write_map(name))
    if origin is tuple:
        read_elem = _element_reader(typing.get_args(hint)[0])
        elem_is_message = _is_dataclass_type(typing.get_args(hint)[0])
        return _FieldPlan(
            name,
            lambda m: tuple(read_elem(v) for v in getattr(m, name)),
            _write_repeated(name, message=elem_is_message),
        )
    if descriptor.message_type is not None and descriptor.message_type.name in _WRAPPERS:
        return _FieldPlan(name, _read_wrapper(name), _write_wrapper(name))
    if _is_dataclass_type(target):
        return _FieldPlan(name, _read_message(name, target), _write_message(name))
    read_elem = _element_reader(target)
    return _FieldPlan(name, lambda m: read_elem(getattr(m, name)), _write_scalar(name))


def _read_wrapper(name: str) -> Callable[[Message], Any]:
    return lambda m: getattr(m, name).value if m.HasField(name) else None


def _read_message(name: str, target: type[Any]) -> Callable[[Message], Any]:
    return lambda m: from_proto(getattr(m, name), target) if m.HasField(name) else None


def _write_map(name: str) -> Callable[[Message, Any], None]:
    def write(m: Message, value: Mapping[str, str]) -> None:
        getattr(m, name).update(value)

    return write


def _write_repeated(name: str, *, message: bool) -> Callable[[Message, Any], None]:
    def write(m: Message, value: tuple[Any, ...]) -> None:
        container = getattr(m, name)
        for item in value:
            if message:
                _fill(container.add(), item)
            else:
                container.append(int(item) if isinstance(item, enum.IntEnum) else item)

    return write


def _write_wrapper(name: str) -> Callable[[Message, Any], None]:
    def write(m: Message, value: int | None) -> None:
        if value is not None:
            getattr(m, name).value = value

    return write


def _write_message(name: str) -> Callable[[Message, Any], None]:
    def write(m: Message, value: Any) -> None:
        if value is not None:
            sub = getattr(m, name)
            sub.SetInParent()
            _fill(sub, value)

    return write


def _write_scalar(name: str) -> Callable[[Message, Any], None]:
    def write(m: Message, value: Any) -> None:
        setattr(m, name, int(value) if isinstance(value, enum.IntEnum) else value)

    return write


_PLANS: dict[tuple[type[Any], str], tuple[_FieldPlan, ...]] = {}


def _plan(cls: type[Any], message_cls: type[Message]) -> tuple[_FieldPlan, ...]:
    key = (cls, message_cls.DESCRIPTOR.full_name)
    plan = _PLANS.get(key)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = tuple(_plan_field(f.name, hints[f.name], message_cls) for f in dataclasses.fields(cls))
        _PLANS[key] = plan
    return plan


def _message_class_of(descriptor: Any) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _fill(message: Message, obj: Any) -> None:
    for field_plan in _plan(type(obj), _message_class_of(message.DESCRIPTOR)):
        field_plan.write(message, getattr(obj, field_plan.name))


def to_proto(obj: Any, message_cls: type[M]) -> M:
    """The protobuf message of type ``message_cls`` carrying ``obj``'s fields."""
    message = message_cls()
    if obj is not None:
        _fill(message, obj)
    return message


def from_proto(message: Message, cls: type[T]) -> T:
    """The domain object of type ``cls`` read from ``message``."""
    plans = _plan(cls, _message_class_of(message.DESCRIPTOR))
    return cls(**{p.name: p.read(message) for p in plans})
