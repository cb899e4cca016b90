"""Informers: list then watch a resource into a local Store, relist on 410, tell handlers what changed.

An ``Informer`` is client-go's reflector, store and shared processor in one; the ``InformerFactory``
hands every consumer of a resource the same informer, so N controllers cost the apiserver one watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from api.client.clock import Clock, MonotonicClock
from api.client.errors import ApiError, ApiUnreachable, Gone
from api.client.protocol import Api
from api.client.resources import Resource
from api.client.store import IndexFunc, Store
from api.client.types import NO_SELECTORS, EventType, Obj, Selectors, WatchEvent, object_key

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 500
WATCH_TIMEOUT_MIN_S = 300
BACKOFF_INITIAL_S = 0.8
BACKOFF_MAX_S = 30.0


def _ignore_add(obj: Obj) -> None:
    return None


def _ignore_update(old: Obj, new: Obj) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class EventHandler:
    """Callbacks run on the event loop, in event order; they should be quick (typically: enqueue a key).

    ``on_delete`` receives the last state the cache knew, also when the deletion was only noticed by
    a relist (client-go's DeletedFinalStateUnknown).
    """

    on_add: Callable[[Obj], None] = _ignore_add
    on_update: Callable[[Obj, Obj], None] = _ignore_update
    on_delete: Callable[[Obj], None] = _ignore_add


class Informer:
    def __init__(
        self,
        api: Api,
        resource: Resource,
        *,
        namespace: str | None = None,
        selectors: Selectors = NO_SELECTORS,
        resync_period_s: float = 0.0,
        indexers: Mapping[str, IndexFunc] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.api = api
        self.resource = resource
        self.namespace = namespace
        self.selectors = selectors
        self.resync_period_s = resync_period_s
        self.store = Store(indexers)
        self.clock: Clock = clock or MonotonicClock()
        self.last_resource_version = ""
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def add_handler(self, handler: EventHandler) -> None:
        """Adds a handler; once synced, it first receives ``on_add`` for everything already cached."""
        self._handlers.append(handler)
        if self.has_synced:
            for obj in self.store.list():
                handler.on_add(obj)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._reflect())
            if self.resync_period_s > 0:
                tasks.create_task(self._resync())

    async def _reflect(self) -> None:
        """List, then watch from the list's resourceVersion; a broken watch resumes where it stopped, an
        expired one (410) lists again. Failures back off 0.8 s doubling to 30 s, jittered."""
        delay = BACKOFF_INITIAL_S
        listed = False
        while True:
            try:
                if not listed:
                    await self._list()
                    listed = True
                await self._watch()
            except Gone as error:
                log.info("%s: watch expired (%s), relisting", self.resource.group_resource, error.message)
                listed = False
                continue
            except (ApiError, ApiUnreachable) as error:
                step = "watch" if listed else "list"
                log.warning(
                    "%s: %s failed: %s; retrying in %.1fs", self.resource.group_resource, step, error, delay
                )
                await self.clock.sleep(delay * random.uniform(1.0, 1.5))
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            delay = BACKOFF_INITIAL_S

    async def _list(self) -> None:
        items: list[Obj] = []
        token: str | None = None
        while True:
            page = await self.api.list(
                self.resource,
                namespace=self.namespace,
                selectors=self.selectors,
                limit=LIST_PAGE_SIZE,
                continue_token=token,
            )
            items += page.items
            token = page.continue_token
            if token is None:
                break
        self._replace(items)
        self.last_resource_version = page.resource_version
        self._synced.set()

    def _replace(self, items: list[Obj]) -> None:
        listed = {object_key(obj): obj for obj in items}
        for key in [k for k in self.store.list_keys() if k not in listed]:
            gone = self.store.remove(key)
            if gone is not None:
                self._notify_delete(gone)
        for obj in listed.values():
            self._apply_upsert(obj)

    async def _watch(self) -> None:
        """One watch stream, until the server ends it (its timeout) or it fails."""
        events = self.api.watch(
            self.resource,
            namespace=self.namespace,
            selectors=self.selectors,
            resource_version=self.last_resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=int(WATCH_TIMEOUT_MIN_S * random.uniform(1.0, 2.0)),
        )
        async with contextlib.aclosing(events):
            async for event in events:
                self._apply(event)

    def _apply(self, event: WatchEvent) -> None:
        if event.type is EventType.DELETED:
            gone = self.store.remove(object_key(event.object))
            self._notify_delete(gone if gone is not None else event.object)
        elif event.type is not EventType.BOOKMARK:
            self._apply_upsert(event.object)
        if event.resource_version:
            self.last_resource_version = event.resource_version

    def _apply_upsert(self, obj: Obj) -> None:
        old = self.store.put(obj)
        for handler in self._handlers:
            if old is None:
                handler.on_add(obj)
            elif old.get("metadata", {}).get("resourceVersion") != obj.get("metadata", {}).get(
                "resourceVersion"
            ):
                handler.on_update(old, obj)

    def _notify_delete(self, obj: Obj) -> None:
        for handler in self._handlers:
            handler.on_delete(obj)

    async def _resync(self) -> None:
        await self.wait_synced()
        while True:
            await self.clock.sleep(self.resync_period_s)
            for obj in self.store.list():
                for handler in self._handlers:
                    handler.on_update(obj, obj)


class InformerFactory:
    """One informer per (resource, namespace, selectors) for all its consumers; ``run`` starts each once."""

    def __init__(
        self,
        api: Api,
        *,
        namespace: str | None = None,
        resync_period_s: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.resync_period_s = resync_period_s
        self.clock = clock
        self._informers: dict[tuple[Resource, str | None, Selectors], Informer] = {}
        self._started: set[Informer] = set()
        self._added = asyncio.Event()

    def informer(self, resource: Resource, *, selectors: Selectors = NO_SELECTORS) -> Informer:
        key = (resource, self.namespace if resource.namespaced else None, selectors)
        if key not in self._informers:
            self._informers[key] = Informer(
                self.api,
                resource,
                namespace=key[1],
                selectors=selectors,
                resync_period_s=self.resync_period_s,
                clock=self.clock,
            )
            self._added.set()
        return self._informers[key]

    async def run(self) -> None:
        """Runs every informer asked for, including those asked for later, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            while True:
                self._added.clear()
                for informer in self._informers.values():
                    if informer not in self._started:
                        self._started.add(informer)
                        tasks.create_task(informer.run())
                await self._added.wait()

    async def wait_synced(self) -> None:
        for informer in list(self._informers.values()):
            await informer.wait_synced()
