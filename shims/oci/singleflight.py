"""Share one in-flight operation among concurrent callers of the same key.

The work runs in its own task; a caller cancelled while others still wait leaves it running. When the
last caller leaves before it finishes, the work is cancelled and awaited, so its cleanup has run
by the time that caller's cancellation propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
CLEANUP_TIMEOUT_S = 30.0


@dataclass(kw_only=True)
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    callers: int = 0


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, _Flight[T]] = {}

    def running(self, key: str) -> bool:
        return key in self._flights

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = _Flight(task=asyncio.ensure_future(work()))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda done: self._forget(key, done))
        flight.callers += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.callers -= 1
            if flight.callers == 0 and not flight.task.done():
                flight.task.cancel()
                await asyncio.wait({flight.task}, timeout=CLEANUP_TIMEOUT_S)

    def _forget(self, key: str, task: asyncio.Task[T]) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight.task is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here so a failure nobody awaited is not logged as lost
