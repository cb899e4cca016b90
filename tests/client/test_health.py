"""The daemons' /healthz and /metrics endpoint, served on loopback only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Counter

from api.client.health import HealthServer


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    registry = CollectorRegistry()
    Counter("reconciles", "Reconciles done", registry=registry).inc(3)
    health = HealthServer(checks={"ping": lambda: True}, registry=registry)
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(health.run())
        await asyncio.wait_for(health.serving.wait(), 5)
        yield health
        task.cancel()


async def fetch(server: HealthServer, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_healthz_is_ok_while_every_check_passes(server: HealthServer) -> None:
    assert await fetch(server, "/healthz") == (200, "ok")


async def test_a_failing_check_is_named_with_a_500(server: HealthServer) -> None:
    server.add_check("informers-synced", lambda: False)
    status, body = await fetch(server, "/healthz")
    assert status == 500
    assert body.splitlines() == [
        "[+]ping ok",
        "[-]informers-synced failed: reason withheld",
        "healthz check failed",
    ]


async def test_a_check_that_raises_counts_as_failed(server: HealthServer) -> None:
    server.add_check("broken", lambda: 1 / 0 > 0)
    status, _ = await fetch(server, "/healthz")
    assert status == 500


async def test_metrics_expose_the_registry(server: HealthServer) -> None:
    status, body = await fetch(server, "/metrics")
    assert status == 200
    assert "reconciles_total 3.0" in body


def test_only_loopback_addresses_are_accepted() -> None:
    with pytest.raises(ValueError, match="only loopback"):
        HealthServer(host="0.0.0.0")
