"""Go's default rendering of ``time.Time`` (``%v``), used by crictl's verbose and table views."""

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
