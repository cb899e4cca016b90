"""GetContainerEvents: the event stream the evented PLEG consumes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from conformance.workspace import Workspace
from cri import domain as d
from cri.client import CRIClient
from cri.errors import Unimplemented

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.deviation(
        "containerd",
        "1.6",
        reason="GetContainerEvents is UNIMPLEMENTED before containerd 1.7",
        raises=Unimplemented,
        match=r"^method GetContainerEvents not implemented$",
    ),
]
E = d.ContainerEventType
PROBES = 10
PROBE_WAIT_S = 3.0


class EventLog:
    """Collects events in the background; ``wait`` returns the first matching one within a timeout."""

    def __init__(self) -> None:
        self.events: list[d.ContainerEvent] = []
        self.changed = asyncio.Condition()
        self.error: BaseException | None = None

    async def consume(self, cri: CRIClient, subscribed: asyncio.Event) -> None:
        stream = cri.container_events()
        subscribed.set()
        try:
            async for event in stream:
                async with self.changed:
                    self.events.append(event)
                    self.changed.notify_all()
        except Exception as exc:
            async with self.changed:
                self.error = exc
                self.changed.notify_all()

    async def wait(self, object_id: str, kind: d.ContainerEventType, timeout: float = 30) -> d.ContainerEvent:
        def found() -> d.ContainerEvent | None:
            return next(
                (e for e in self.events if e.container_id == object_id and e.container_event_type == kind),
                None,
            )

        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: found() is not None or self.error is not None), timeout
            )
        if self.error is not None:
            raise self.error
        event = found()
        assert event is not None
        return event


@pytest.fixture
async def events(cri: CRIClient) -> AsyncIterator[EventLog]:
    log = EventLog()
    subscribed = asyncio.Event()
    task = asyncio.create_task(log.consume(cri, subscribed))
    await asyncio.wait_for(subscribed.wait(), 10)
    try:
        yield log
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _subscribed(ws: Workspace, events: EventLog) -> None:
    """The stream is live once it delivers an event for a probe sandbox created after subscribing;
    a probe the runtime made before it registered the stream goes unseen, so another one follows."""
    for _ in range(PROBES):
        pod = await ws.run_pod()
        with contextlib.suppress(TimeoutError):
            await events.wait(pod.id, E.CONTAINER_STARTED_EVENT, timeout=PROBE_WAIT_S)
            return
    raise AssertionError(f"GetContainerEvents delivered no event for {PROBES} probe sandboxes")


async def test_container_created_event(ws: Workspace, events: EventLog) -> None:
    """CreateContainer emits CONTAINER_CREATED_EVENT: the evented PLEG learns of new containers."""
    await _subscribed(ws, events)
    container_id = await ws.create()
    assert (await events.wait(container_id, E.CONTAINER_CREATED_EVENT)).created_at > 0


async def test_container_started_event(ws: Workspace, events: EventLog) -> None:
    """StartContainer emits CONTAINER_STARTED_EVENT with the RUNNING status."""
    await _subscribed(ws, events)
    container_id = await ws.start()
    event = await events.wait(container_id, E.CONTAINER_STARTED_EVENT)
    states = {s.id: s.state for s in event.containers_statuses}
    assert states.get(container_id) == d.ContainerState.CONTAINER_RUNNING


async def test_container_stopped_event(ws: Workspace, events: EventLog) -> None:
    """StopContainer emits CONTAINER_STOPPED_EVENT with the EXITED status: restarts are triggered by it."""
    await _subscribed(ws, events)
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    event = await events.wait(container_id, E.CONTAINER_STOPPED_EVENT)
    states = {s.id: s.state for s in event.containers_statuses}
    assert states.get(container_id) == d.ContainerState.CONTAINER_EXITED


async def test_container_deleted_event(ws: Workspace, events: EventLog) -> None:
    """RemoveContainer emits CONTAINER_DELETED_EVENT: the PLEG forgets the container."""
    await _subscribed(ws, events)
    container_id = await ws.create()
    await ws.cri.remove_container(container_id)
    await events.wait(container_id, E.CONTAINER_DELETED_EVENT)


async def test_sandbox_events(ws: Workspace, events: EventLog) -> None:
    """Sandboxes emit events with their own id as container_id: the PLEG tracks pods this way."""
    await _subscribed(ws, events)
    pod = await ws.run_pod()
    event = await events.wait(pod.id, E.CONTAINER_STARTED_EVENT)
    assert event.pod_sandbox_status is not None and event.pod_sandbox_status.id == pod.id


async def test_sandbox_stopped_event(ws: Workspace, events: EventLog) -> None:
    """StopPodSandbox emits a stopped event for the sandbox with state NOTREADY."""
    await _subscribed(ws, events)
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    event = await events.wait(pod.id, E.CONTAINER_STOPPED_EVENT)
    assert event.pod_sandbox_status is not None
    assert event.pod_sandbox_status.state == d.PodSandboxState.SANDBOX_NOTREADY


async def test_event_carries_sandbox_status(ws: Workspace, events: EventLog) -> None:
    """Container events carry their pod's sandbox status: the PLEG updates the pod in one step."""
    await _subscribed(ws, events)
    pod = await ws.run_pod()
    container_id = await ws.create(pod)
    event = await events.wait(container_id, E.CONTAINER_CREATED_EVENT)
    assert event.pod_sandbox_status is not None and event.pod_sandbox_status.id == pod.id


async def test_event_timestamps_nanoseconds(ws: Workspace, events: EventLog) -> None:
    """Event created_at is nanoseconds: the PLEG orders events by it."""
    await _subscribed(ws, events)
    container_id = await ws.create()
    assert (await events.wait(container_id, E.CONTAINER_CREATED_EVENT)).created_at > 10**18
