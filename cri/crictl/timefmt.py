"""Go's renderings of ``time.Time``: ``%v`` (verbose and table views) and RFC3339Nano (JSON, logs)."""

from __future__ import annotations

import datetime


def go_time(ns: int) -> str:
    """``time.Unix(0, ns).String()``: ``2026-11-28 14:20:23.123456789 +0000 UTC``."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).astimezone()
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return f"{text} {moment.strftime('%z')} {moment.tzname() or 'UTC'}"


def rfc3339nano(ns: int | None) -> str:
    """Go's ``time.Unix(0, ns).Format(time.RFC3339Nano)`` in local time; None is the zero time."""
    if ns is None:
        return "0001-01-01T00:00:00Z"
    seconds, nanos = divmod(ns, 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    offset = moment.utcoffset() or datetime.timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
