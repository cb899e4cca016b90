"""Events name the object they are about, and recording never fails the caller."""

from __future__ import annotations

from typing import Any

from api.client.clock import ManualClock
from api.client.errors import ApiUnreachable
from api.client.events import WARNING, EventRecorder
from api.client.fake import FakeApi
from api.client.resources import EVENTS, REPLICASETS
from api.client.types import Obj


async def test_an_event_names_its_object_reason_and_component() -> None:
    api = FakeApi()
    rs = await api.create(REPLICASETS, {"kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "ns"}})
    recorder = EventRecorder(api, "replicaset-controller", clock=ManualClock())
    await recorder.record(rs, "SuccessfulCreate", "Created pod: web-abcde")
    await recorder.record(rs, "FailedCreate", "quota", event_type=WARNING)
    events = (await api.list(EVENTS, namespace="ns")).items
    assert [(e["reason"], e["type"]) for e in events] == [
        ("SuccessfulCreate", "Normal"),
        ("FailedCreate", "Warning"),
    ]
    first = events[0]
    assert first["involvedObject"]["kind"] == "ReplicaSet"
    assert first["involvedObject"]["uid"] == rs["metadata"]["uid"]
    assert first["source"] == {"component": "replicaset-controller"}
    assert first["message"] == "Created pod: web-abcde"
    assert first["lastTimestamp"] == "2026-01-01T00:00:00Z"


class UnreachableApi(FakeApi):
    async def create(self, *args: Any, **kwargs: Any) -> Obj:
        raise ApiUnreachable("connection refused")


async def test_an_event_that_cannot_be_written_is_dropped() -> None:
    recorder = EventRecorder(UnreachableApi(), "c")
    await recorder.record({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}}, "R", "m")
