"""The garbage collector: dependents whose owners are gone are deleted; owners deleted in the foreground or
with orphaning are finished once their dependents are handled (upstream's pkg/controller/garbagecollector).

* Background: a dependent all of whose owners are gone (absent, or present under another uid) is deleted;
  one that still has a live owner loses only its dangling references.
* Foreground: an owner carrying ``foregroundDeletion`` has its dependents deleted (in the foreground too),
  and loses the finalizer once none is left, which lets the apiserver remove it.
* Orphan: an owner carrying ``orphan`` has its reference removed from every dependent, then the finalizer.

Ownership is read from the informers' caches; an owner missing from a cache is confirmed with a GET
before anything is deleted, so a lagging watch never deletes a dependent of a live owner.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from api.client import errors
from api.client.clock import Clock
from api.client.controller import Controller
from api.client.informer import EventHandler, Informer, InformerFactory
from api.client.metrics import QueueMetrics
from api.client.protocol import Api
from api.client.resources import DAEMONSETS, DEPLOYMENTS, PODS, REPLICASETS, Resource
from api.client.types import Obj, PatchType, meta, object_key, split_key

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
OWNER_INDEX = "owner-uid"
MONITORED = (DEPLOYMENTS, REPLICASETS, DAEMONSETS, PODS)


def owner_uids(obj: Obj) -> Iterable[str]:
    return [str(r["uid"]) for r in meta(obj).get("ownerReferences") or () if r.get("uid")]


class GarbageCollector:
    def __init__(
        self,
        api: Api,
        informers: InformerFactory,
        *,
        resources: Sequence[Resource] = MONITORED,
        workers: int = 5,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self.api = api
        self.informers: dict[str, tuple[Resource, Informer]] = {}
        self.loop = Controller("garbagecollector", self.sync, workers=workers, clock=clock, metrics=metrics)
        for resource in resources:
            informer = informers.informer(resource)
            informer.store.add_indexers({OWNER_INDEX: owner_uids})
            informer.add_handler(self._handler(resource))
            self.informers[resource.group_resource] = (resource, informer)

    async def run(self) -> None:
        await self.loop.run([informer for _, informer in self.informers.values()])

    def _handler(self, resource: Resource) -> EventHandler:
        def changed(obj: Obj) -> None:
            if owner_uids(obj) or _finalizing(obj):
                self.loop.queue.add(f"{resource.group_resource}|{object_key(obj)}")

        def deleted(obj: Obj) -> None:
            for dependent_resource, dependent in self._dependents(str(meta(obj).get("uid"))):
                self.loop.queue.add(f"{dependent_resource.group_resource}|{object_key(dependent)}")
            namespace = meta(obj).get("namespace")
            for reference in meta(obj).get("ownerReferences") or ():
                owner = self._owner_resource(reference)
                if owner is not None:
                    owner_key = f"{namespace}/{reference['name']}" if owner.namespaced else reference["name"]
                    self.loop.queue.add(f"{owner.group_resource}|{owner_key}")

        return EventHandler(on_add=changed, on_update=lambda old, new: changed(new), on_delete=deleted)

    def _dependents(self, uid: str) -> list[tuple[Resource, Obj]]:
        return [
            (resource, obj)
            for resource, informer in self.informers.values()
            for obj in informer.store.by_index(OWNER_INDEX, uid)
        ]

    async def sync(self, key: str) -> None:
        group_resource, _, object_name = key.partition("|")
        resource, informer = self.informers[group_resource]
        obj = informer.store.get(object_name)
        if obj is None:
            return
        if ORPHAN in _finalizing(obj):
            await self._orphan_dependents(resource, obj)
        elif FOREGROUND in _finalizing(obj):
            await self._delete_dependents_first(resource, obj)
        if owner_uids(obj) and not meta(obj).get("deletionTimestamp"):
            await self._collect_if_orphaned(resource, obj)

    async def _owner_alive(self, namespace: str | None, reference: dict[str, Any]) -> bool:
        owner = self._owner_resource(reference)
        if owner is None:
            return True  # an owner kind we do not watch: never assume it is gone
        cached = self.informers[owner.group_resource][1].store.get_by_name(reference["name"], namespace)
        if cached is not None and meta(cached).get("uid") == reference["uid"]:
            return True
        try:
            live = await self.api.get(owner, reference["name"], namespace=namespace)
        except errors.NotFound:
            return False
        return bool(meta(live).get("uid") == reference["uid"])

    def _owner_resource(self, reference: dict[str, Any]) -> Resource | None:
        for resource, _ in self.informers.values():
            if resource.api_version == reference.get("apiVersion") and resource.kind == reference.get("kind"):
                return resource
        return None

    async def _collect_if_orphaned(self, resource: Resource, obj: Obj) -> None:
        namespace, name = split_key(object_key(obj))
        references = list(meta(obj).get("ownerReferences") or ())
        dangling = [r for r in references if not await self._owner_alive(namespace, r)]
        if not dangling:
            return
        if len(dangling) == len(references):
            log.info("deleting %s %s: its owners are gone", resource.group_resource, object_key(obj))
            with contextlib.suppress(errors.NotFound):
                await self.api.delete(
                    resource,
                    name,
                    namespace=namespace,
                    propagation_policy="Background",
                    preconditions={"uid": meta(obj)["uid"]},
                )
            return
        for reference in dangling:
            await self._drop_reference(resource, obj, reference["uid"])

    async def _drop_reference(self, resource: Resource, obj: Obj, uid: str) -> None:
        namespace, name = split_key(object_key(obj))
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}], "uid": meta(obj)["uid"]}}
        with contextlib.suppress(errors.NotFound):
            await self.api.patch(resource, name, patch, patch_type=PatchType.STRATEGIC, namespace=namespace)

    async def _orphan_dependents(self, resource: Resource, owner: Obj) -> None:
        uid = str(meta(owner)["uid"])
        for dependent_resource, dependent in self._dependents(uid):
            await self._drop_reference(dependent_resource, dependent, uid)
        await self._remove_finalizer(resource, owner, ORPHAN)

    async def _delete_dependents_first(self, resource: Resource, owner: Obj) -> None:
        dependents = self._dependents(str(meta(owner)["uid"]))
        for dependent_resource, dependent in dependents:
            if not meta(dependent).get("deletionTimestamp"):
                namespace, name = split_key(object_key(dependent))
                with contextlib.suppress(errors.NotFound):
                    await self.api.delete(
                        dependent_resource, name, namespace=namespace, propagation_policy="Foreground"
                    )
        if not dependents:
            await self._remove_finalizer(resource, owner, FOREGROUND)

    async def _remove_finalizer(self, resource: Resource, owner: Obj, finalizer: str) -> None:
        remaining = [f for f in meta(owner).get("finalizers") or () if f != finalizer]
        with contextlib.suppress(errors.NotFound):
            await self.api.update(resource, {**owner, "metadata": {**meta(owner), "finalizers": remaining}})


def _finalizing(obj: Obj) -> list[str]:
    if not meta(obj).get("deletionTimestamp"):
        return []
    return [f for f in meta(obj).get("finalizers") or () if f in (FOREGROUND, ORPHAN)]
