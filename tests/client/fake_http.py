"""FakeApi served over HTTP at the apiserver's paths: the RestClient tested end to end in unit runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from api.client import errors, resources
from api.client.fake import FakeApi
from api.client.kubeconfig import ClientConfig
from api.client.resources import Resource
from api.client.types import PatchType, Selectors

KNOWN = {(r.group, r.plural): r for r in vars(resources).values() if isinstance(r, Resource)}


def _route(request: web.Request) -> tuple[Resource, str | None, str | None, str | None]:
    parts = request.match_info["tail"].strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    parts = parts[2:] if parts[0] == "api" else parts[3:]
    namespace = None
    if parts[0] == "namespaces" and len(parts) > 2:
        namespace, parts = parts[1], parts[2:]
    resource = KNOWN[(group, parts[0])]
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else None
    return resource, namespace, name, subresource


async def _dispatch(api: FakeApi, request: web.Request) -> web.StreamResponse:
    resource, namespace, name, subresource = _route(request)
    query = request.query
    selectors = Selectors(labels=query.get("labelSelector"), fields=query.get("fieldSelector"))
    body: Any = await request.json() if request.can_read_body else None
    if request.method == "GET" and name is None and query.get("watch") == "true":
        return await _watch(api, request, resource, namespace, selectors)
    if request.method == "GET" and name is None:
        listed = await api.list(
            resource,
            namespace=namespace,
            selectors=selectors,
            limit=int(query["limit"]) if "limit" in query else None,
            continue_token=query.get("continue"),
        )
        meta = {"resourceVersion": listed.resource_version} | (
            {"continue": listed.continue_token} if listed.continue_token else {}
        )
        return web.json_response(
            {"kind": f"{resource.kind}List", "metadata": meta, "items": list(listed.items)}
        )
    if request.method == "GET" and name is not None:
        return web.json_response(await api.get(resource, name, namespace=namespace, subresource=subresource))
    if request.method == "POST":
        created = await api.create(resource, body, namespace=namespace, name=name, subresource=subresource)
        return web.json_response(created, status=201)
    assert name is not None
    if request.method == "PUT":
        return web.json_response(await api.update(resource, body, subresource=subresource))
    if request.method == "PATCH":
        patch_type = PatchType(request.content_type)
        patched = await api.patch(
            resource, name, body, patch_type=patch_type, namespace=namespace, subresource=subresource
        )
        return web.json_response(patched)
    options = body or {}
    deleted = await api.delete(
        resource,
        name,
        namespace=namespace,
        propagation_policy=options.get("propagationPolicy"),
        grace_period_seconds=options.get("gracePeriodSeconds"),
        preconditions=options.get("preconditions"),
    )
    return web.json_response(deleted)


async def _watch(
    api: FakeApi, request: web.Request, resource: Resource, namespace: str | None, selectors: Selectors
) -> web.StreamResponse:
    events = api.watch(
        resource,
        namespace=namespace,
        selectors=selectors,
        resource_version=request.query.get("resourceVersion"),
        allow_watch_bookmarks=request.query.get("allowWatchBookmarks") == "true",
    )
    response = web.StreamResponse()
    response.content_type = "application/json"
    await response.prepare(request)
    try:
        async for event in events:
            await response.write(
                json.dumps({"type": event.type.value, "object": event.object}).encode() + b"\n"
            )
    except errors.ApiError as error:
        await response.write(json.dumps({"type": "ERROR", "object": dict(error.status)}).encode() + b"\n")
    await response.write_eof()
    return response


def fake_app(api: FakeApi) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await _dispatch(api, request)
        except errors.ApiError as error:
            return web.json_response(dict(error.status), status=error.code)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@asynccontextmanager
async def serving(api: FakeApi) -> AsyncIterator[ClientConfig]:
    runner = web.AppRunner(fake_app(api))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield ClientConfig(server=f"http://127.0.0.1:{port}")
    finally:
        api.end_watches()
        await runner.cleanup()
