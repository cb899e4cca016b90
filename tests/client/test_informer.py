"""Informers over the FakeApi: cache, handlers with old objects, relist on 410, bookmarks, resync, sharing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.client.clock import ManualClock
from api.client.errors import ApiUnreachable
from api.client.fake import FakeApi
from api.client.informer import BACKOFF_INITIAL_S, EventHandler, Informer, InformerFactory
from api.client.resources import CONFIGMAPS, PODS
from api.client.store import by_label
from api.client.types import Obj
from tests.client.polling import eventually


def cm(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {},
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str | None]] = []

    def handler(self) -> EventHandler:
        return EventHandler(
            on_add=lambda obj: self.events.append(("add", _name(obj), None)),
            on_update=lambda old, new: self.events.append(
                ("update", _name(new), old["metadata"]["resourceVersion"])
            ),
            on_delete=lambda obj: self.events.append(("delete", _name(obj), None)),
        )


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


@asynccontextmanager
async def running(informer: Informer | InformerFactory) -> AsyncIterator[None]:
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(informer.run())
        try:
            yield
        finally:
            task.cancel()


async def test_lists_then_follows_changes_with_the_old_object_on_update() -> None:
    api = FakeApi()
    first = await api.create(CONFIGMAPS, cm("a"))
    informer = Informer(api, CONFIGMAPS)
    recorder = Recorder()
    informer.add_handler(recorder.handler())
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 5)
        assert recorder.events == [("add", "a", None)]
        await api.update(CONFIGMAPS, {**first, "data": {"k": "v"}})
        await api.delete(CONFIGMAPS, "a", namespace="default")
        await eventually(lambda: len(recorder.events) == 3)
    assert recorder.events[1:] == [
        ("update", "a", first["metadata"]["resourceVersion"]),
        ("delete", "a", None),
    ]
    assert informer.store.list() == []


async def test_an_expired_watch_relists_and_reports_what_changed_meanwhile() -> None:
    api = FakeApi()
    await api.create(CONFIGMAPS, cm("stays"))
    await api.create(CONFIGMAPS, cm("goes"))
    informer = Informer(api, CONFIGMAPS)
    recorder = Recorder()
    informer.add_handler(recorder.handler())
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 5)
        await eventually(lambda: api.open_watches == 1)
        api.end_watches()
        await api.delete(CONFIGMAPS, "goes", namespace="default")
        await api.create(CONFIGMAPS, cm("new"))
        api.compact()
        await eventually(lambda: sorted(informer.store.list_keys()) == ["default/new", "default/stays"])
    assert ("delete", "goes", None) in recorder.events
    assert ("add", "new", None) in recorder.events
    assert api.requests.count(("list", "configmaps")) == 2


async def test_bookmarks_advance_the_resource_version_to_resume_from() -> None:
    api = FakeApi()
    informer = Informer(api, CONFIGMAPS)
    async with running(informer):
        await eventually(lambda: api.open_watches == 1)
        await api.create(PODS, {"kind": "Pod", "metadata": {"name": "p", "namespace": "default"}})
        api.send_bookmarks()
        await eventually(lambda: informer.last_resource_version == api.resource_version)


async def test_resync_replays_every_cached_object_as_an_update() -> None:
    api, clock = FakeApi(), ManualClock()
    await api.create(CONFIGMAPS, cm("a"))
    informer = Informer(api, CONFIGMAPS, resync_period_s=30, clock=clock)
    recorder = Recorder()
    informer.add_handler(recorder.handler())
    async with running(informer):
        await eventually(lambda: informer.has_synced and clock.sleepers == 1)
        clock.advance(29)
        assert recorder.events == [("add", "a", None)]
        clock.advance(1)
        await eventually(lambda: len(recorder.events) == 2)
    assert recorder.events[1][:2] == ("update", "a")


async def test_indexes_follow_label_changes() -> None:
    api = FakeApi()
    created = await api.create(CONFIGMAPS, cm("a", "team1", app="web"))
    await api.create(CONFIGMAPS, cm("b", "team2", app="web"))
    informer = Informer(api, CONFIGMAPS, indexers={"app": by_label("app")})
    async with running(informer):
        await asyncio.wait_for(informer.wait_synced(), 5)
        assert [_name(o) for o in informer.store.by_index("app", "web")] == ["a", "b"]
        assert [_name(o) for o in informer.store.by_index("namespace", "team2")] == ["b"]
        await api.update(
            CONFIGMAPS, {**created, "metadata": {**created["metadata"], "labels": {"app": "db"}}}
        )
        await eventually(lambda: [_name(o) for o in informer.store.by_index("app", "web")] == ["b"])
    assert [_name(o) for o in informer.store.by_index("app", "db")] == ["a"]


async def test_factory_shares_one_watch_between_consumers() -> None:
    api = FakeApi()
    factory = InformerFactory(api)
    first, second = Recorder(), Recorder()
    factory.informer(CONFIGMAPS).add_handler(first.handler())
    async with running(factory):
        await asyncio.wait_for(factory.wait_synced(), 5)
        await api.create(CONFIGMAPS, cm("a"))
        await eventually(lambda: len(first.events) == 1)
        late = factory.informer(CONFIGMAPS)
        late.add_handler(second.handler())
        assert second.events == [("add", "a", None)]
        pods = factory.informer(PODS)
        await asyncio.wait_for(pods.wait_synced(), 5)
        await eventually(lambda: api.open_watches == 2)
    assert api.requests.count(("watch", "configmaps")) == 1


async def test_a_broken_watch_resumes_after_a_backoff_without_relisting() -> None:
    api, clock = FakeApi(), ManualClock()
    informer = Informer(api, CONFIGMAPS, clock=clock)
    async with running(informer):
        await eventually(lambda: api.open_watches == 1)
        api.break_watches(ApiUnreachable("connection reset"))
        await eventually(lambda: clock.sleepers == 1)
        await api.create(CONFIGMAPS, cm("made-meanwhile"))
        clock.advance(BACKOFF_INITIAL_S * 1.5)
        await eventually(lambda: informer.store.list_keys() == ["default/made-meanwhile"])
    assert api.requests.count(("list", "configmaps")) == 1
    assert api.requests.count(("watch", "configmaps")) == 2
