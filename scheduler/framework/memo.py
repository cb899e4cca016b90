"""Memo keys for results stored on NodeInfos.

A key is a tuple of a pod's signatures; hashing and comparing such a tuple on every node would cost
more than the lookup saves, so each distinct key is interned once per cycle to a token object that
hashes and compares by identity."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.snapshot import Snapshot

MAX_KEYS = 10_000


class Interner:
    def __init__(self) -> None:
        self._tokens: dict[Hashable, object] = {}

    def token(self, key: Hashable) -> object:
        token = self._tokens.get(key)
        if token is None:
            if len(self._tokens) >= MAX_KEYS:
                self._tokens.clear()  # only memo hits are lost
            token = self._tokens[key] = object()
        return token


Row = tuple[tuple[Hashable, int], ...]
MAX_SUMS = 64


@dataclass
class _Sum:
    version: int
    rows: dict[str, Row]
    total: dict[Hashable, int]


def _add(total: dict[Hashable, int], row: Row, sign: int) -> None:
    for item, count in row:
        value = total.get(item, 0) + sign * count
        if value:
            total[item] = value
        else:
            total.pop(item, None)


class NodeSums:
    """Per key, the sum over nodes of a per-node row of (item, count), kept current from the snapshot's
    change log: a cycle recomputes the rows of the nodes that changed, not of every node."""

    def __init__(self) -> None:
        self._sums: dict[object, _Sum] = {}

    def total(
        self,
        key: object,
        snapshot: Snapshot,
        nodes: Callable[[], Iterable[NodeInfo]],
        row: Callable[[NodeInfo], Row],
    ) -> dict[Hashable, int]:
        """The current sum; read it, do not change it."""
        known = self._sums.get(key)
        changed = snapshot.changed_since(known.version) if known is not None else None
        if known is None or changed is None:
            if len(self._sums) >= MAX_SUMS:
                self._sums.clear()
            known = self._sums[key] = _Sum(snapshot.version, {}, {})
            changed_infos: Iterable[NodeInfo] = nodes()
        else:
            changed_infos = [info for name in changed if (info := snapshot.get(name)) is not None]
            for name in changed:
                _add(known.total, known.rows.pop(name, ()), -1)
        for info in changed_infos:
            new = row(info)
            if new:
                known.rows[info.name] = new
                _add(known.total, new, 1)
        known.version = snapshot.version
        return known.total
