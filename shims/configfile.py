"""A shim's YAML configuration file read into its frozen config dataclass, every field checked.

Paths become ``Path``s, lists of paths tuples of them, durations positive floats (seconds), everything
else stays a non-empty string; an unknown setting or a wrong type is a ``BackendConfigError`` naming
the field.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from shims.backends import BackendConfigError

C = TypeVar("C")


def read_settings(path: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The file's top-level mapping with ``overrides`` (those not None) on top."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise BackendConfigError(f"cannot read {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise BackendConfigError(f"{path}: the top level must be a mapping")
        raw.update(loaded)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return raw


def build(
    cls: type[C],
    raw: dict[str, Any],
    *,
    paths: Collection[str] = (),
    path_lists: Collection[str] = (),
    seconds: Collection[str] = (),
) -> dict[str, Any]:
    """The keyword arguments for ``cls`` from ``raw``; fields in no collection are strings."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BackendConfigError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in paths:
            values[name] = Path(text(name, value))
        elif name in path_lists:
            values[name] = tuple(Path(text(name, item)) for item in listed(name, value))
        elif name in seconds:
            values[name] = positive_seconds(name, value)
        else:
            values[name] = text(name, value)
    return values


def text(name: str, value: Any) -> str:
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise BackendConfigError(f"{name}: expected a non-empty string, got {value!r}")
    return str(value)


def positive_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BackendConfigError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(value)


def listed(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BackendConfigError(f"{name}: expected a list, got {value!r}")
    return value


def check_host_port(name: str, address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise BackendConfigError(f"{name}: {address!r} is not HOST:PORT")
