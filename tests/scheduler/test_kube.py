"""The scheduler against the client library's FakeApi: informers, pods/binding, Events, the PodScheduled
condition, leader election and the health endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from api.client import errors
from api.client.clock import ManualClock
from api.client.fake import FakeApi
from api.client.resources import EVENTS, LEASES, NODES, PODS
from api.client.types import PatchType
from scheduler.app import Options, SchedulerApp
from scheduler.config import SchedulerConfig
from scheduler.kube import ApiCluster
from scheduler.scheduler import Scheduler
from tests.client.polling import eventually
from tests.scheduler.builders import node, pod, schedule_all


async def _create(api: FakeApi, resource: Any, obj: dict[str, Any]) -> None:
    """Creates the object, then writes its status through the status subresource (as a kubelet does)."""
    metadata = {k: v for k, v in obj["metadata"].items() if k not in ("uid", "creationTimestamp")}
    namespace = obj["metadata"].get("namespace")
    await api.create(resource, {**obj, "metadata": metadata}, namespace=namespace)
    if obj.get("status"):
        await api.patch(
            resource,
            metadata["name"],
            {"status": obj["status"]},
            patch_type=PatchType.MERGE,
            namespace=namespace,
            subresource="status",
        )


async def _node_of(api: FakeApi, name: str) -> str:
    return str((await api.get(PODS, name, namespace="default")).get("spec", {}).get("nodeName") or "")


async def _until(check: Callable[[], Awaitable[bool]], within_s: float = 10.0) -> None:
    """Bounded polling of a condition on the API's state."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not true within {within_s}s: {check}")
        await asyncio.sleep(0.01)


async def _events(api: FakeApi) -> list[tuple[str, str, str]]:
    listed = await api.list(EVENTS, namespace="default")
    return [(e["involvedObject"]["name"], e["reason"], e["message"]) for e in listed.items]


@pytest.fixture
async def running() -> AsyncIterator[tuple[FakeApi, SchedulerApp]]:
    api = FakeApi()
    app = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="one"))
    task = asyncio.create_task(app.run())
    yield api, app
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_pods_created_in_the_api_are_bound_with_a_scheduled_event(
    running: tuple[FakeApi, SchedulerApp],
) -> None:
    api, app = running
    await _create(api, NODES, node("worker"))
    await _create(api, PODS, pod("web", cpu="1"))
    await _until(lambda: _bound_to(api, "web", "worker"))
    assert app.elector.is_leader
    lease = await api.get(LEASES, "kube-scheduler", namespace="kube-system")
    assert lease["spec"]["holderIdentity"] == "one"
    assert ("web", "Scheduled", "Successfully assigned default/web to worker") in await _events(api)


async def test_an_unschedulable_pod_gets_failed_scheduling_and_is_bound_once_a_node_fits(
    running: tuple[FakeApi, SchedulerApp],
) -> None:
    api, _ = running
    await _create(api, NODES, node("small", cpu="1"))
    await _create(api, PODS, pod("big", cpu="4"))
    await _until(lambda: _has_event(api, "big", "FailedScheduling"))
    status = (await api.get(PODS, "big", namespace="default"))["status"]
    condition = status["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    message = (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    )
    assert condition["message"] == message
    assert ("big", "FailedScheduling", message) in await _events(api)
    await _create(api, NODES, node("large", cpu="8"))
    await _until(lambda: _bound_to(api, "big", "large"))  # after its 1 s backoff


async def _bound_to(api: FakeApi, name: str, node_name: str) -> bool:
    return await _node_of(api, name) == node_name


async def _has_event(api: FakeApi, name: str, reason: str) -> bool:
    return any(event[:2] == (name, reason) for event in await _events(api))


async def test_health_and_metrics_are_served(running: tuple[FakeApi, SchedulerApp]) -> None:
    _, app = running
    await asyncio.wait_for(app.health.serving.wait(), 10)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{app.health.port}/healthz") as response:
            assert (response.status, await response.text()) == (200, "ok")
        async with session.get(f"http://127.0.0.1:{app.health.port}/metrics") as response:
            metrics = await response.text()
    assert 'scheduler_pending_pods{queue="active"}' in metrics
    assert (
        "scheduler_schedule_attempts_total" in metrics or "scheduler_scheduling_attempt_duration" in metrics
    )


async def test_only_the_leader_schedules_and_the_other_takes_over_when_it_stops() -> None:
    api, clock = FakeApi(), ManualClock()
    first = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="first"), clock=clock)
    second = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="second"), clock=clock)
    await _create(api, NODES, node("worker"))
    leading_first = asyncio.create_task(first.run())
    await eventually(lambda: first.elector.is_leader)
    leading_second = asyncio.create_task(second.run())
    await asyncio.wait_for(second.informers.wait_synced(), 10)
    await _create(api, PODS, pod("a"))
    await eventually(lambda: first.scheduler.cache.pod("default/a") is not None)
    assert not second.elector.is_leader
    leading_first.cancel()
    await asyncio.gather(leading_first, return_exceptions=True)
    for _ in range(5):
        clock.advance(2)
        await asyncio.sleep(0.01)
        if second.elector.is_leader:
            break
    await eventually(lambda: second.elector.is_leader)
    await _create(api, PODS, pod("b"))
    await eventually(lambda: second.scheduler.cache.pod("default/b") is not None)
    assert await _node_of(api, "b") == "worker"
    leading_second.cancel()
    await asyncio.gather(leading_second, return_exceptions=True)


async def test_an_api_failure_while_binding_requeues_the_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi()
    await _create(api, NODES, node("worker"))
    await _create(api, PODS, pod("web"))
    scheduler = Scheduler(SchedulerConfig(), ApiCluster(api))
    for obj in (await api.list(NODES)).items:
        scheduler.on_node("ADDED", obj)
    for obj in (await api.list(PODS, namespace="default")).items:
        scheduler.on_pod("ADDED", obj)
    create = api.create

    async def binding_fails(resource: Any, obj: Any, **options: Any) -> Any:
        if options.get("subresource") == "binding":
            raise errors.ServiceUnavailable(errors.status_for(503, "ServiceUnavailable", "etcd is down"))
        return await create(resource, obj, **options)

    monkeypatch.setattr(api, "create", binding_fails)
    await schedule_all(scheduler)
    assert scheduler.cache.pod("default/web") is None
    assert scheduler.queue.pending()["backoff"] == 1
    reasons = [(reason, message) for name, reason, message in await _events(api) if name == "web"]
    assert reasons == [("FailedScheduling", "binding rejected: etcd is down")]
