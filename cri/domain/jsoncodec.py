"""Domain dataclasses to JSON-ready values and back, for state a shim keeps on disk.

Protobuf stays at the gRPC edge: records persist in their own shape. Field names are the
dataclasses'; enums are written by name; bytes as base64; a plan per class comes from its type hints.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
Decoder = Callable[[Any], Any]


class DecodeError(ValueError):
    """The data does not have the shape of the class it should decode to."""


def encode(value: Any) -> Any:
    """A dataclass (or what one holds) as JSON-ready dicts, lists, strings and numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    return value


def decode(cls: type[T], data: Any) -> T:
    """The ``cls`` instance ``encode`` wrote as ``data``; DecodeError when it does not fit."""
    try:
        decoded: T = _dataclass_decoder(cls)(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DecodeError(f"not a {cls.__name__}: {type(exc).__name__}: {exc}") from exc
    return decoded


_DECODERS: dict[type[Any], Decoder] = {}


def _dataclass_decoder(cls: type[Any]) -> Decoder:
    cached = _DECODERS.get(cls)
    if cached is None:
        cached = _DECODERS[cls] = _plan_dataclass(cls)
    return cached


def _plan_dataclass(cls: type[Any]) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls) if f.init}

    def read(data: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError(f"expected an object, got {type(data).__name__}")
        return cls(**{name: fields[name](value) for name, value in data.items() if name in fields})

    return read


def _decoder(hint: Any) -> Decoder:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = _decoder(next(a for a in args if a is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        item = _decoder(args[0])
        return lambda value: tuple(item(v) for v in value)
    if origin in (Mapping, dict):
        item = _decoder(args[1])
        return lambda value: {str(k): item(v) for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return functools.partial(_enum, hint)
    if hint is bytes:
        return lambda value: base64.b64decode(value, validate=True)
    if hint in (int, str, bool, float):
        return functools.partial(_scalar, float | int if hint is float else hint)
    return lambda value: value


def _enum(cls: type[enum.Enum], value: Any) -> Any:
    if isinstance(value, str):
        return cls[value]
    try:
        return cls(value)
    except ValueError:
        return value  # a value newer than this build, kept as the protobuf conversion keeps it


def _scalar(kind: Any, value: Any) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind}, got {type(value).__name__}")
    return value
