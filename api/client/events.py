"""Kubernetes Events (core/v1) as controllers and the scheduler emit them (``SuccessfulCreate``...).

Recording never fails the caller: an Event that cannot be written is logged and dropped, as client-go's
recorder drops events it cannot deliver.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any

from api.client.clock import Clock, MonotonicClock
from api.client.errors import ApiError, ApiUnreachable
from api.client.protocol import Api
from api.client.resources import EVENTS
from api.client.types import meta

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


class EventRecorder:
    def __init__(self, api: Api, component: str, *, clock: Clock | None = None) -> None:
        self.api = api
        self.component = component
        self.clock: Clock = clock or MonotonicClock()
        self._sequence = itertools.count()

    async def record(
        self, obj: Mapping[str, Any], reason: str, message: str, *, event_type: str = NORMAL
    ) -> None:
        metadata = meta(obj)
        now = self.clock.wall()
        timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        namespace = metadata.get("namespace") or "default"
        unique = int(now.timestamp() * 1e9) + next(self._sequence)
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{metadata.get('name')}.{unique:x}", "namespace": namespace},
            "involvedObject": {
                key: value
                for key, value in {
                    "apiVersion": obj.get("apiVersion"),
                    "kind": obj.get("kind"),
                    "namespace": metadata.get("namespace"),
                    "name": metadata.get("name"),
                    "uid": metadata.get("uid"),
                    "resourceVersion": metadata.get("resourceVersion"),
                }.items()
                if value
            },
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "firstTimestamp": timestamp,
            "lastTimestamp": timestamp,
            "count": 1,
        }
        try:
            await self.api.create(EVENTS, event, namespace=namespace)
        except (ApiError, ApiUnreachable) as error:
            log.warning("event %s for %s/%s dropped: %s", reason, namespace, metadata.get("name"), error)
