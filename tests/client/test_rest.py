"""RestClient details the contract suite does not reach: big watch events, errors without a Status body."""

from __future__ import annotations

import contextlib

import pytest
from aiohttp import web

from api.client import errors
from api.client.fake import FakeApi
from api.client.kubeconfig import ClientConfig
from api.client.resources import CONFIGMAPS, PODS
from api.client.rest import RestClient
from tests.client.fake_http import serving


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


async def test_an_error_without_a_status_body_is_mapped_by_its_code() -> None:
    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found\n")

    app = web.Application()
    app.router.add_get("/{tail:.*}", not_found)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with RestClient(ClientConfig(server=f"http://127.0.0.1:{runner.addresses[0][1]}")) as client:
            with pytest.raises(errors.NotFound, match="404 page not found"):
                await client.get(PODS, "p", namespace="default")
    finally:
        await runner.cleanup()


async def test_an_unreachable_server_is_named() -> None:
    async with RestClient(ClientConfig(server="http://127.0.0.1:9")) as client:
        with pytest.raises(errors.ApiUnreachable, match=r"127\.0\.0\.1:9"):
            await client.get(PODS, "p", namespace="default")
