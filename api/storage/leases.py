"""Lease bookkeeping for the embedded backends: ids, TTLs and deadlines (deadlines live in memory only,
as in etcd: after a restart every lease gets its full TTL again)."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api.storage.errors import InvalidRequest, LeaseNotFound
from api.storage.types import Lease

MAX_TTL_SECONDS = 9_000_000_000
MIN_TTL_SECONDS = 1


@dataclass
class _Granted:
    ttl: int
    deadline: float


class LeaseTable:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._granted: dict[int, _Granted] = {}

    def restore(self, lease_id: int, ttl: int) -> None:
        self._granted[lease_id] = _Granted(ttl, self._clock() + ttl)

    def grant(self, ttl: int, *, lease_id: int = 0) -> Lease:
        if not MIN_TTL_SECONDS <= ttl <= MAX_TTL_SECONDS:
            raise InvalidRequest(f"lease TTL {ttl}s is outside {MIN_TTL_SECONDS}..{MAX_TTL_SECONDS}s")
        if lease_id in self._granted:
            raise InvalidRequest(f"lease {lease_id} already exists")
        if lease_id < 0:
            raise InvalidRequest(f"lease id {lease_id} is negative")
        new_id = lease_id or self._fresh_id()
        self._granted[new_id] = _Granted(ttl, self._clock() + ttl)
        return Lease(id=new_id, ttl=ttl)

    def _fresh_id(self) -> int:
        for _ in itertools.count():
            candidate = secrets.randbits(62) + 1
            if candidate not in self._granted:
                return candidate
        raise AssertionError("unreachable")

    def exists(self, lease_id: int) -> bool:
        return lease_id in self._granted

    def keep_alive(self, lease_id: int) -> Lease:
        granted = self._get(lease_id)
        granted.deadline = self._clock() + granted.ttl
        return Lease(id=lease_id, ttl=granted.ttl)

    def remove(self, lease_id: int) -> None:
        self._get(lease_id)
        del self._granted[lease_id]

    def granted_ttl(self, lease_id: int) -> int:
        return self._get(lease_id).ttl

    def remaining(self, lease_id: int) -> int:
        return max(0, round(self._get(lease_id).deadline - self._clock()))

    def ids(self) -> tuple[int, ...]:
        return tuple(self._granted)

    def expired(self) -> list[int]:
        now = self._clock()
        return [lease_id for lease_id, granted in self._granted.items() if granted.deadline <= now]

    def seconds_to_next_expiry(self) -> float | None:
        if not self._granted:
            return None
        return max(0.0, min(g.deadline for g in self._granted.values()) - self._clock())

    def _get(self, lease_id: int) -> _Granted:
        granted = self._granted.get(lease_id)
        if granted is None:
            raise LeaseNotFound(lease_id)
        return granted


async def expire_leases_forever(
    table: LeaseTable, revoke: Callable[[int], Awaitable[None]], *, max_wait: float = 0.5
) -> None:
    """Revoke leases as their deadlines pass; a keep-alive in between simply moves the deadline."""
    while True:
        wait = table.seconds_to_next_expiry()
        await asyncio.sleep(max_wait if wait is None else min(max_wait, wait))
        for lease_id in table.expired():
            try:
                await revoke(lease_id)
            except LeaseNotFound:
                continue
