"""Container behaviour every backend must show (CRI-NOTES: state, timestamps, names, filters)."""

from __future__ import annotations

import asyncio

import pytest

from cri import domain as d
from cri import errors
from cri.client import CRIClient
from tests.contract.scenario import IMAGE, container_config, create, run_pod

STATE = d.ContainerState


async def test_lifecycle_moves_through_created_running_exited_with_ns_timestamps(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    created = (await cri.container_status(container_id)).status
    assert created is not None and created.state == STATE.CONTAINER_CREATED
    assert created.created_at > 10**18 and created.started_at == 0
    await cri.start_container(container_id)
    running = (await cri.container_status(container_id)).status
    assert running is not None and running.state == STATE.CONTAINER_RUNNING
    assert running.started_at >= running.created_at
    await cri.stop_container(container_id, grace_seconds=0)
    exited = (await cri.container_status(container_id)).status
    assert exited is not None and exited.state == STATE.CONTAINER_EXITED
    assert exited.finished_at >= exited.started_at and exited.exit_code != 0
    assert exited.reason == "Error"
    await cri.remove_container(container_id)
    with pytest.raises(errors.NotFound):
        await cri.container_status(container_id)
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_image_ref_is_the_pulled_image_id(cri: CRIClient) -> None:
    image_id = await cri.pull_image(IMAGE)
    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    status = (await cri.container_status(container_id)).status
    assert status is not None and status.image_ref == image_id
    [listed] = await cri.list_containers(d.ContainerFilter(id=container_id))
    assert listed.image_ref == image_id
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_stop_and_remove_are_idempotent(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    await cri.start_container(container_id)
    for _ in range(2):
        await cri.stop_container(container_id, grace_seconds=0)
        exited = (await cri.container_status(container_id)).status
        assert exited is not None and exited.state == STATE.CONTAINER_EXITED
    for _ in range(2):
        await cri.remove_container(container_id)
        with pytest.raises(errors.NotFound):
            await cri.container_status(container_id)
        assert await cri.list_containers(d.ContainerFilter(id=container_id)) == []
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_a_duplicate_container_name_is_rejected_until_removed(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    first = await create(cri, pod, "twin")
    with pytest.raises(errors.CRIError):
        await create(cri, pod, "twin")
    await cri.remove_container(first)
    second = await create(cri, pod, "twin")
    assert second != first
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_labels_and_annotations_round_trip(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    container_id = await create(cri, pod, labels={"role": "db"})
    status = (await cri.container_status(container_id)).status
    config = container_config(labels={"role": "db"})
    assert status is not None
    assert dict(status.labels) == dict(config.labels)
    assert dict(status.annotations) == dict(config.annotations)
    assert status.metadata == config.metadata
    assert status.log_path.endswith("main/0.log")
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_list_filters_are_anded(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    other = await run_pod(cri)
    web = await create(cri, pod, "web", labels={"tier": "front"})
    db = await create(cri, pod, "db", labels={"tier": "back"})
    elsewhere = await create(cri, other, "web", labels={"tier": "front"})
    await cri.start_container(web)
    mine = {web, db, elsewhere}

    async def ids(filter_: d.ContainerFilter) -> set[str]:
        return {c.id for c in await cri.list_containers(filter_)} & mine

    assert await ids(d.ContainerFilter(pod_sandbox_id=pod.sandbox_id)) == {web, db}
    assert await ids(d.ContainerFilter(label_selector={"tier": "front"})) == {web, elsewhere}
    running = d.ContainerStateValue(state=STATE.CONTAINER_RUNNING)
    assert await ids(d.ContainerFilter(state=running)) == {web}
    front_in_pod = d.ContainerFilter(pod_sandbox_id=pod.sandbox_id, label_selector={"tier": "front"})
    assert await ids(front_in_pod) == {web}
    assert await ids(d.ContainerFilter(id=db[:13])) == {db}
    for sandbox_id in (pod.sandbox_id, other.sandbox_id):
        await cri.stop_pod_sandbox(sandbox_id)
        await cri.remove_pod_sandbox(sandbox_id)


async def test_start_of_a_running_container_fails_and_changes_nothing(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    await cri.start_container(container_id)
    with pytest.raises(errors.CRIError):
        await cri.start_container(container_id)
    status = (await cri.container_status(container_id)).status
    assert status is not None and status.state == STATE.CONTAINER_RUNNING
    await cri.stop_pod_sandbox(pod.sandbox_id)
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_stopping_the_sandbox_stops_its_containers(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    await cri.start_container(container_id)
    await cri.stop_pod_sandbox(pod.sandbox_id)
    status = (await cri.container_status(container_id)).status
    assert status is not None and status.state == STATE.CONTAINER_EXITED
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def _subscribed(cri: CRIClient) -> asyncio.Queue[d.ContainerEvent]:
    """A queue fed by GetContainerEvents, returned once the stream provably delivers events."""
    queue: asyncio.Queue[d.ContainerEvent] = asyncio.Queue()

    async def pump() -> None:
        async for event in cri.container_events():
            queue.put_nowait(event)

    task = asyncio.get_running_loop().create_task(pump())
    _PUMPS.add(task)
    task.add_done_callback(_PUMPS.discard)
    for _ in range(50):
        probe = await run_pod(cri)
        await cri.remove_pod_sandbox(probe.sandbox_id)
        try:
            while (await asyncio.wait_for(queue.get(), 0.5)).container_id != probe.sandbox_id:
                pass
        except TimeoutError:
            continue
        while not queue.empty():
            queue.get_nowait()
        return queue
    raise AssertionError("GetContainerEvents delivered no event for 50 probe sandboxes")


_PUMPS: set[asyncio.Task[None]] = set()


async def test_events_follow_the_container_lifecycle(cri: CRIClient) -> None:
    queue = await _subscribed(cri)
    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    await cri.start_container(container_id)
    await cri.stop_container(container_id, grace_seconds=0)
    await cri.remove_container(container_id)
    wanted = [
        d.ContainerEventType.CONTAINER_CREATED_EVENT,
        d.ContainerEventType.CONTAINER_STARTED_EVENT,
        d.ContainerEventType.CONTAINER_STOPPED_EVENT,
        d.ContainerEventType.CONTAINER_DELETED_EVENT,
    ]
    seen: list[d.ContainerEventType] = []
    while len(seen) < len(wanted):
        event = await asyncio.wait_for(queue.get(), 30)
        if event.container_id == container_id:
            seen.append(event.container_event_type)
            assert event.created_at > 10**18
            assert event.pod_sandbox_status is not None
    assert seen == wanted
    await cri.remove_pod_sandbox(pod.sandbox_id)
    for task in list(_PUMPS):
        task.cancel()
