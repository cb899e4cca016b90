"""Fan-out of container events to every GetContainerEvents stream, after state is committed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from cri.domain import ContainerEvent

log = logging.getLogger("tinykube.cri.events")

SUBSCRIBER_BUFFER = 1000


class EventHub:
    """Each subscriber has a bounded queue; one that falls behind is dropped, never blocks the runtime."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[ContainerEvent | None]] = set()

    def publish(self, event: ContainerEvent) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning(
                    "dropping a container-events subscriber that fell %d events behind", SUBSCRIBER_BUFFER
                )
                self._subscribers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    async def subscribe(self) -> AsyncIterator[ContainerEvent]:
        queue: asyncio.Queue[ContainerEvent | None] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
