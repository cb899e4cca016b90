"""Cells kubectl's printers compute, shared by the kinds' columns (k8s pkg/printers/internalversion)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.registry.strategy import Column, Object


def human_duration(seconds: int) -> str:
    """apimachinery's duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours = seconds // 60, seconds // 3600
    if minutes < 10:
        return f"{minutes}m" if seconds % 60 == 0 else f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    years, days = hours // (24 * 365), (hours // 24) % 365
    if hours < 24 * 365 * 8:
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{years}y"


def parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def since(text: Any) -> str:
    """The age of an RFC 3339 timestamp, ``<unknown>`` when absent."""
    when = parse_time(text) if isinstance(text, str) else None
    if when is None:
        return "<unknown>"
    return human_duration(int((dt.datetime.now(dt.UTC) - when).total_seconds()))


def name_of(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def age_of(obj: Object) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"))


def spec(obj: Object) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Object) -> dict[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def none_if_empty(value: str) -> str:
    return value or "<none>"


NAME = Column("Name", "string", name_of, "Name must be unique within a namespace.", "name")
AGE = Column("Age", "string", age_of, "CreationTimestamp is a timestamp representing the server time "
             "when this object was created.")
DEFAULT_COLUMNS = (NAME, Column("Created At", "date", lambda o: (o.get("metadata") or {}).get(
    "creationTimestamp"), "The date and time this object was created."))
