"""Watch as informers rely on it: ordered events from a resourceVersion, and selectors applied."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from api.client.protocol import Api
from api.client.resources import CONFIGMAPS
from api.client.types import EventType, Selectors, WatchEvent
from tests.client.contract.test_crud import NS, configmap, unique

EVENT_TIMEOUT_S = 10.0


async def next_event(events: AsyncIterator[WatchEvent]) -> WatchEvent:
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        while True:
            event = await anext(events)
            if event.type is not EventType.BOOKMARK:
                return event


async def test_watch_from_a_resource_version_replays_later_changes_in_order(api: Api) -> None:
    tag = unique("t")
    start = (await api.list(CONFIGMAPS, namespace=NS)).resource_version
    name = unique("cm")
    created = await api.create(CONFIGMAPS, configmap(name, {"tag": tag}, a="1"))
    await api.update(CONFIGMAPS, {**created, "data": {"a": "2"}})
    await api.delete(CONFIGMAPS, name, namespace=NS)
    watch = api.watch(
        CONFIGMAPS, namespace=NS, selectors=Selectors(labels=f"tag={tag}"), resource_version=start
    )
    async with contextlib.aclosing(watch) as events:
        seen = [await next_event(events) for _ in range(3)]
    assert [e.type for e in seen] == [EventType.ADDED, EventType.MODIFIED, EventType.DELETED]
    assert seen[1].object["data"] == {"a": "2"}
    versions = [int(e.resource_version) for e in seen]
    assert versions == sorted(versions)


async def test_watch_delivers_changes_made_after_it_started(api: Api) -> None:
    tag = unique("t")
    start = (await api.list(CONFIGMAPS, namespace=NS)).resource_version
    watch = api.watch(
        CONFIGMAPS, namespace=NS, selectors=Selectors(labels=f"tag={tag}"), resource_version=start
    )
    async with contextlib.aclosing(watch) as events:
        pending = asyncio.ensure_future(next_event(events))
        await api.create(CONFIGMAPS, configmap(unique("other"), {"tag": "other"}))
        created = await api.create(CONFIGMAPS, configmap(unique("cm"), {"tag": tag}))
        event = await pending
    assert event.type is EventType.ADDED
    assert event.object["metadata"]["name"] == created["metadata"]["name"]
    assert event.object["kind"] == "ConfigMap"
