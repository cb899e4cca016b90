"""WATCH: chunked JSON lines from the resource's watch cache, with initial events, bookmarks and
selector transitions (an object leaving the selection is DELETED for that watcher)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web

from api.machinery import status as errors
from api.registry.strategy import Object, Strategy
from api.server.handlers.context import Api
from api.server.handlers.options import Filter, make_filter, parse_revision
from api.server.handlers.read import check_not_future
from api.server.objects import json_bytes
from api.server.request import Output, flag, negotiate
from api.server.tables import metadata_only, table
from api.server.watchcache import Change, Subscriber

BOOKMARK_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 1800.0


class _Stream:
    def __init__(self, response: web.StreamResponse, strategy: Strategy, output: Output,
                 include_object: str) -> None:
        self.response = response
        self.strategy = strategy
        self.output = output
        self.include_object = include_object
        self.headers_sent = False
        self.plain = not output.table and not output.metadata_only

    def _shape(self, obj: Object) -> Any:
        if self.output.table:
            body = table(self.strategy, [obj], include_object=self.include_object, revision="",
                         headers=not self.headers_sent)
            self.headers_sent = True
            return body
        if self.output.metadata_only:
            return metadata_only(obj)
        return obj

    async def send(self, kind: str, obj: Any, *, raw: bool = False) -> None:
        event = {"type": kind, "object": obj if raw else self._shape(obj)}
        await self.response.write(json_bytes(event) + b"\n")

    async def bookmark(self, revision: int, *, initial_end: bool = False) -> None:
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        await self.send("BOOKMARK", {"kind": self.strategy.kind, "apiVersion": self.strategy.api_version,
                                     "metadata": metadata}, raw=True)


def _transition(change: Change, selection: Filter) -> str | None:
    now = selection.matches(change.obj)
    before = change.previous is not None and selection.matches(change.previous)
    if change.type == "DELETED":
        return "DELETED" if before or now else None
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


async def _initial(api: Api, stream: _Stream, selection: Filter) -> int:
    from api.server.handlers.read import _collect

    prefix = selection.strategy.list_prefix(selection.namespace)
    listed = await _collect(api, selection.strategy, selection, prefix, 0, None, 0)
    for obj in listed.items:
        await stream.send("ADDED", obj)
    return listed.revision


async def watch(api: Api, request: web.Request, strategy: Strategy, namespace: str) -> web.StreamResponse:
    selection = make_filter(request, strategy, namespace)
    requested = parse_revision(request.query.get("resourceVersion"))
    send_initial = request.query.get("sendInitialEvents")
    if send_initial is not None and not request.query.get("resourceVersionMatch"):
        raise errors.bad_request("sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch "
                                 "unless resourceVersionMatch is set")
    if requested:
        await check_not_future(api, requested)
    cache = await api.caches.of(strategy)
    compacted = await api.objects.compacted_revision() if requested else 0
    timeout = float(request.query.get("timeoutSeconds") or DEFAULT_TIMEOUT_S)
    response = web.StreamResponse(headers={"Content-Type": "application/json",
                                           "Transfer-Encoding": "chunked"})
    await response.prepare(request)
    stream = _Stream(response, strategy, negotiate(request),
                     request.query.get("includeObject", "Metadata"))
    initial = send_initial == "true" or (send_initial is None and not requested)
    if initial:
        after = await _initial(api, stream, selection)
        if send_initial == "true":
            await stream.bookmark(after, initial_end=True)
    else:
        after = requested or 0
    try:
        if after and after < compacted:
            raise errors.expired(f"too old resource version: {after} ({compacted})")
        subscriber = cache.subscribe(after)
    except errors.ApiError as error:
        await stream.send("ERROR", error.status(), raw=True)
        return response
    try:
        await _follow(stream, subscriber, selection, timeout, bookmarks=flag(request, "allowWatchBookmarks"),
                      cache_revision=lambda: cache.revision)
    finally:
        cache.unsubscribe(subscriber)
    return response


async def _follow(stream: _Stream, subscriber: Subscriber, selection: Filter, timeout: float, *,
                  bookmarks: bool, cache_revision: Any) -> None:
    deadline = time.monotonic() + timeout
    last_bookmark = time.monotonic()
    while (left := deadline - time.monotonic()) > 0:
        wait = min(left, BOOKMARK_INTERVAL_S) if bookmarks else left
        change: Change | None = None
        with contextlib.suppress(TimeoutError):
            change = await asyncio.wait_for(subscriber.queue.get(), wait)
        if change is None:
            if subscriber.closed:
                return
            if bookmarks and time.monotonic() - last_bookmark >= BOOKMARK_INTERVAL_S:
                await stream.bookmark(cache_revision())
                last_bookmark = time.monotonic()
            continue
        kind = _transition(change, selection)
        if kind is None:
            continue
        if stream.plain:
            await stream.response.write(change.line(kind))
        else:
            await stream.send(kind, change.obj)
