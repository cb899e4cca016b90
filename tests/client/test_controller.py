"""The controller loop: informer events become keys, reconciles retry with backoff, one worker per key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry

from api.client.clock import ManualClock
from api.client.controller import Controller
from api.client.fake import FakeApi
from api.client.informer import Informer
from api.client.metrics import QueueMetrics
from api.client.resources import CONFIGMAPS
from tests.client.polling import eventually


@asynccontextmanager
async def running(*runs: asyncio.Future[None] | asyncio.Task[None]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)


async def test_events_of_the_informer_reach_reconcile_as_keys() -> None:
    api = FakeApi()
    await api.create(CONFIGMAPS, {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}})
    seen: list[str] = []

    async def reconcile(key: str) -> None:
        seen.append(key)

    informer = Informer(api, CONFIGMAPS)
    controller = Controller("test", reconcile)
    informer.add_handler(controller.handler())
    async with running(
        asyncio.ensure_future(informer.run()), asyncio.ensure_future(controller.run([informer]))
    ):
        await eventually(lambda: seen == ["ns/a"])
        await api.delete(CONFIGMAPS, "a", namespace="ns")
        await eventually(lambda: seen == ["ns/a", "ns/a"])


async def test_a_failing_reconcile_is_retried_with_backoff_then_forgotten() -> None:
    clock = ManualClock()
    registry = CollectorRegistry()
    attempts: list[float] = []

    async def reconcile(key: str) -> None:
        attempts.append(clock.now())
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    controller = Controller("flaky", reconcile, clock=clock, metrics=QueueMetrics(registry))
    controller.queue.add("k")
    async with running(asyncio.ensure_future(controller.run())):
        await eventually(lambda: len(attempts) == 1 and clock.sleepers == 1)
        clock.advance(0.005)
        await eventually(lambda: len(attempts) == 2 and clock.sleepers == 1)
        clock.advance(0.0099)
        assert len(attempts) == 2
        clock.advance(0.0001)
        await eventually(lambda: len(attempts) == 3)
        await eventually(lambda: controller.queue.num_requeues("k") == 0)
    labels = {"name": "flaky"}
    assert registry.get_sample_value("controller_reconcile_errors_total", labels) == 2
    assert registry.get_sample_value("workqueue_retries_total", labels) == 2
    assert registry.get_sample_value("workqueue_adds_total", labels) == 3
    assert registry.get_sample_value("workqueue_depth", labels) == 0


async def test_after_max_retries_a_key_is_dropped() -> None:
    clock = ManualClock()
    attempts: list[str] = []

    async def reconcile(key: str) -> None:
        attempts.append(key)
        raise RuntimeError("always")

    controller = Controller("doomed", reconcile, max_retries=1, clock=clock)
    controller.queue.add("k")
    async with running(asyncio.ensure_future(controller.run())):
        await eventually(lambda: clock.sleepers == 1)
        clock.advance(1)
        await eventually(lambda: len(attempts) == 2 and controller.queue.waiting == 0)
    assert controller.queue.num_requeues("k") == 0


async def test_two_workers_never_reconcile_the_same_key_at_once() -> None:
    active: set[str] = set()
    overlaps: list[str] = []
    release = asyncio.Event()
    calls: list[str] = []

    async def reconcile(key: str) -> None:
        if key in active:
            overlaps.append(key)
        active.add(key)
        calls.append(key)
        await release.wait()
        active.discard(key)

    controller = Controller("serial", reconcile, workers=2)
    controller.queue.add("k")
    async with running(asyncio.ensure_future(controller.run())):
        await eventually(lambda: calls == ["k"])
        controller.queue.add("k")
        controller.queue.add("other")
        await eventually(lambda: calls == ["k", "other"])
        release.set()
        await eventually(lambda: calls == ["k", "other", "k"])
    assert overlaps == []
