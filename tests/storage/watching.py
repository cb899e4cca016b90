"""Reading a bounded number of watch events with a deadline, so a missing event fails instead of hanging."""

from __future__ import annotations

import asyncio

from api.storage.protocol import Watch
from api.storage.types import Event

WATCH_TIMEOUT = 15.0


async def next_events(watch: Watch, count: int, *, timeout: float = WATCH_TIMEOUT) -> list[Event]:
    events: list[Event] = []
    iterator = aiter(watch)
    async with asyncio.timeout(timeout):
        while len(events) < count:
            batch = await anext(iterator)
            events.extend(batch.events)
    return events
