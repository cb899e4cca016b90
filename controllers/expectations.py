"""Expectations: creates and deletes a controller has asked for but not yet seen through its informer.

While a controller still expects events for a key, it does not act on the cache's pod count again, so a
watch that lags never makes it create (or delete) twice. Deletions are tracked by pod key, so a pod seen
both going (deletionTimestamp) and gone counts once, as upstream's UIDTrackingControllerExpectations.
Stale expectations expire after 5 minutes (upstream's ``ExpectationsTimeout``) in case an event was lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from api.client.clock import Clock

EXPECTATIONS_TTL_S = 300.0


@dataclass
class _Pending:
    adds: int
    deletes: set[str] = field(default_factory=set)
    set_at: float = 0.0


class Expectations:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._pending: dict[str, _Pending] = {}

    def expect(self, key: str, *, adds: int = 0, deletes: Iterable[str] = ()) -> None:
        self._pending[key] = _Pending(adds, set(deletes), self.clock.now())

    def observed_add(self, key: str) -> None:
        if (pending := self._pending.get(key)) is not None:
            pending.adds -= 1

    def observed_delete(self, key: str, pod_key: str) -> None:
        if (pending := self._pending.get(key)) is not None:
            pending.deletes.discard(pod_key)

    def satisfied(self, key: str) -> bool:
        pending = self._pending.get(key)
        if pending is None:
            return True
        met = pending.adds <= 0 and not pending.deletes
        return met or self.clock.now() - pending.set_at > EXPECTATIONS_TTL_S

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
