"""Key ranges as etcd defines them."""

from __future__ import annotations

ALL_KEYS = b"\0"


def prefix_end(prefix: bytes) -> bytes:
    """The range end that selects every key starting with ``prefix`` (etcd's GetPrefixRangeEnd)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return ALL_KEYS
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def in_range(key: bytes, start: bytes, range_end: bytes) -> bool:
    if not range_end:
        return key == start
    if range_end == ALL_KEYS:
        return key >= start
    return start <= key < range_end
