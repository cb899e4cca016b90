"""The scheduler's run loop and its metrics."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import generate_latest

from tests.client.polling import eventually
from tests.scheduler.builders import cluster_scheduler, node, pod, schedule_all


async def test_run_binds_pods_as_they_arrive_and_stops_when_cancelled() -> None:
    cluster, scheduler, _ = cluster_scheduler([node("a")], [pod("first")])
    task = asyncio.create_task(scheduler.run())
    await eventually(lambda: cluster.node_of("default/first") == "a")
    cluster.add_pod(pod("second"))
    await eventually(lambda: cluster.node_of("default/second") == "a")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_metrics_count_attempts_by_result_and_pending_pods_by_queue() -> None:
    _, scheduler, _ = cluster_scheduler([node("a", cpu="1")], [pod("fits", cpu="1"), pod("too-big", cpu="2")])
    await schedule_all(scheduler)
    metrics = generate_latest(scheduler.metrics.registry).decode()
    assert 'scheduler_schedule_attempts_total{result="scheduled"} 1.0' in metrics
    assert 'scheduler_schedule_attempts_total{result="unschedulable"} 1.0' in metrics
    assert 'scheduler_pending_pods{queue="unschedulable"} 1.0' in metrics
    assert 'scheduler_scheduling_attempt_duration_seconds_bucket{le="0.0001",result="scheduled"}' in metrics
