"""RestClient details the contract suite does not reach: big watch events, errors without a Status body."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from api.client import errors
from api.client.clock import ManualClock
from api.client.fake import FakeApi
from api.client.kubeconfig import ClientConfig
from api.client.resources import CONFIGMAPS, PODS
from api.client.rest import RestClient
from tests.client.fake_http import serving
from tests.client.polling import eventually


async def test_a_watch_event_larger_than_a_read_buffer_arrives_whole() -> None:
    api = FakeApi()
    big = "x" * 300_000
    async with serving(api) as config, RestClient(config) as client:
        watch = client.watch(CONFIGMAPS, namespace="default", resource_version=api.resource_version)
        async with contextlib.aclosing(watch) as events:
            await api.create(
                CONFIGMAPS,
                {
                    "kind": "ConfigMap",
                    "metadata": {"name": "big", "namespace": "default"},
                    "data": {"k": big},
                },
            )
            event = await anext(events)
    assert event.object["data"]["k"] == big


@asynccontextmanager
async def answering(handler: Any) -> AsyncIterator[ClientConfig]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield ClientConfig(server=f"http://127.0.0.1:{runner.addresses[0][1]}")
    finally:
        await runner.cleanup()


async def test_a_429_with_retry_after_is_retried_after_the_wait() -> None:
    answers = [429, 503, 200]

    async def throttled(request: web.Request) -> web.Response:
        code = answers.pop(0)
        if code != 200:
            return web.Response(status=code, text="slow down", headers={"Retry-After": "2"})
        return web.json_response({"kind": "Pod", "metadata": {"name": "p"}})

    clock = ManualClock()
    async with answering(throttled) as config, RestClient(config, clock=clock) as client:
        pending = asyncio.ensure_future(client.get(PODS, "p", namespace="default"))
        for _ in range(2):
            await eventually(lambda: clock.sleepers == 1)
            clock.advance(2)
        pod = await asyncio.wait_for(pending, 5)
    assert pod["metadata"]["name"] == "p"
    assert answers == []


async def test_a_429_without_retry_after_is_raised() -> None:
    async def throttled(request: web.Request) -> web.Response:
        return web.Response(status=429, text="too many requests")

    async with answering(throttled) as config, RestClient(config) as client:
        with pytest.raises(errors.TooManyRequests):
            await client.get(PODS, "p", namespace="default")


async def test_an_error_without_a_status_body_is_mapped_by_its_code() -> None:
    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found\n")

    async with answering(not_found) as config, RestClient(config) as client:
        with pytest.raises(errors.NotFound, match="404 page not found"):
            await client.get(PODS, "p", namespace="default")


async def test_an_unreachable_server_is_named() -> None:
    async with RestClient(ClientConfig(server="http://127.0.0.1:9")) as client:
        with pytest.raises(errors.ApiUnreachable, match=r"127\.0\.0\.1:9"):
            await client.get(PODS, "p", namespace="default")
