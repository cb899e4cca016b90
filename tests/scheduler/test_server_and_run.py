"""The scheduler's run loop and its /healthz and /metrics."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from scheduler.server import NotLoopbackError, build_app, serve
from tests.kubelet.fake_cri import wait_until
from tests.scheduler.builders import cluster_scheduler, node, pod, schedule_all


async def test_run_binds_pods_as_they_arrive_and_stops_when_cancelled() -> None:
    cluster, scheduler, _ = cluster_scheduler([node("a")], [pod("first")])
    task = asyncio.create_task(scheduler.run())
    await wait_until("first bound", lambda: cluster.node_of("default/first") == "a")
    cluster.add_pod(pod("second"))
    await wait_until("second bound", lambda: cluster.node_of("default/second") == "a")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_healthz_and_metrics_count_attempts_by_result_and_pending_pods() -> None:
    _, scheduler, _ = cluster_scheduler([node("a", cpu="1")], [pod("fits", cpu="1"), pod("too-big", cpu="2")])
    await schedule_all(scheduler)
    async with TestClient(TestServer(build_app(scheduler))) as client:
        health = await client.get("/healthz")
        assert (health.status, await health.text()) == (200, "ok")
        metrics = await (await client.get("/metrics")).text()
    assert 'scheduler_schedule_attempts_total{result="scheduled"} 1.0' in metrics
    assert 'scheduler_schedule_attempts_total{result="unschedulable"} 1.0' in metrics
    assert 'scheduler_pending_pods{queue="unschedulable"} 1.0' in metrics
    assert "scheduler_scheduling_attempt_duration_seconds_bucket" in metrics


async def test_metrics_are_served_on_loopback_only() -> None:
    _, scheduler, _ = cluster_scheduler([], [])
    with pytest.raises(NotLoopbackError, match="loopback only"):
        await serve(scheduler, "0.0.0.0", 0)
