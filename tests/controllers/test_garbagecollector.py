"""The garbage collector: background, foreground and orphan deletion over ownerReferences."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.client import errors
from api.client.informer import InformerFactory
from api.client.protocol import Api
from api.client.resources import DEPLOYMENTS, PODS, REPLICASETS, Resource
from api.client.types import Obj
from controllers.garbagecollector import GarbageCollector
from tests.client.polling import eventually, eventually_true

NS = "default"


def owned_by(kind: str, name: str, *owners: Obj, api_version: str = "v1") -> dict[str, Any]:
    references = [
        {
            "apiVersion": o["apiVersion"],
            "kind": o["kind"],
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        for o in owners
    ]
    body: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": NS, "ownerReferences": references},
    }
    if kind == "Pod":
        body["spec"] = {"containers": [{"name": "c", "image": "busybox"}]}
    if kind == "ReplicaSet":
        body["spec"] = {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "b"}]},
            },
        }
    return body


def deployment(name: str) -> dict[str, Any]:
    body = owned_by("Deployment", name, api_version="apps/v1")
    body["spec"] = {**owned_by("ReplicaSet", name)["spec"], "replicas": 0}
    return body


@asynccontextmanager
async def collector(api: Api) -> AsyncIterator[GarbageCollector]:
    factory = InformerFactory(api)
    gc = GarbageCollector(api, factory)
    async with asyncio.TaskGroup() as tasks:
        runs = [tasks.create_task(factory.run()), tasks.create_task(gc.run())]
        try:
            yield gc
        finally:
            for run in runs:
                run.cancel()


async def exists(api: Api, resource: Resource, name: str) -> bool:
    try:
        await api.get(resource, name, namespace=NS)
    except errors.NotFound:
        return False
    return True


async def gone(api: Api, resource: Resource, name: str) -> None:
    async def absent() -> bool:
        return not await exists(api, resource, name)

    await eventually_true(absent)


def cached(gc: GarbageCollector, resource: Resource, name: str) -> Obj | None:
    return gc.informers[resource.group_resource][1].store.get(f"{NS}/{name}")


async def test_background_deletion_removes_the_whole_tree(api: Api) -> None:
    async with collector(api) as gc:
        owner = await api.create(DEPLOYMENTS, deployment("web"))
        rs = await api.create(REPLICASETS, owned_by("ReplicaSet", "web-1", owner, api_version="apps/v1"))
        await api.create(PODS, owned_by("Pod", "web-1-a", rs))
        await eventually(lambda: cached(gc, PODS, "web-1-a") is not None)
        await api.delete(DEPLOYMENTS, "web", namespace=NS, propagation_policy="Background")
        await gone(api, REPLICASETS, "web-1")
        await gone(api, PODS, "web-1-a")


async def test_a_dependent_with_a_live_owner_only_loses_the_dangling_reference(api: Api) -> None:
    async with collector(api) as gc:
        first = await api.create(REPLICASETS, owned_by("ReplicaSet", "first", api_version="apps/v1"))
        second = await api.create(REPLICASETS, owned_by("ReplicaSet", "second", api_version="apps/v1"))
        await api.create(PODS, owned_by("Pod", "shared", first, second))
        await eventually(lambda: cached(gc, PODS, "shared") is not None)
        await api.delete(REPLICASETS, "first", namespace=NS)
        await eventually(
            lambda: (
                len((cached(gc, PODS, "shared") or {}).get("metadata", {}).get("ownerReferences", [])) == 1
            )
        )
    pod = await api.get(PODS, "shared", namespace=NS)
    assert [r["name"] for r in pod["metadata"]["ownerReferences"]] == ["second"]


async def test_orphan_deletion_keeps_the_dependents_without_the_reference(api: Api) -> None:
    async with collector(api) as gc:
        owner = await api.create(DEPLOYMENTS, deployment("web"))
        await api.create(REPLICASETS, owned_by("ReplicaSet", "web-1", owner, api_version="apps/v1"))
        await eventually(lambda: cached(gc, REPLICASETS, "web-1") is not None)
        await api.delete(DEPLOYMENTS, "web", namespace=NS, propagation_policy="Orphan")
        await gone(api, DEPLOYMENTS, "web")
    rs = await api.get(REPLICASETS, "web-1", namespace=NS)
    assert rs["metadata"].get("ownerReferences", []) == []


async def test_foreground_deletion_removes_the_owner_after_its_dependents(api: Api) -> None:
    async with collector(api) as gc:
        owner = await api.create(DEPLOYMENTS, deployment("web"))
        rs = await api.create(REPLICASETS, owned_by("ReplicaSet", "web-1", owner, api_version="apps/v1"))
        await api.create(PODS, owned_by("Pod", "web-1-a", rs))
        await eventually(lambda: cached(gc, PODS, "web-1-a") is not None)
        await api.delete(DEPLOYMENTS, "web", namespace=NS, propagation_policy="Foreground")
        deleting = await api.get(DEPLOYMENTS, "web", namespace=NS)
        assert deleting["metadata"]["deletionTimestamp"]
        await gone(api, DEPLOYMENTS, "web")
        assert not await exists(api, REPLICASETS, "web-1")
        assert not await exists(api, PODS, "web-1-a")


async def test_a_dependent_of_a_recreated_owner_is_collected(api: Api) -> None:
    async with collector(api):
        old = await api.create(REPLICASETS, owned_by("ReplicaSet", "web", api_version="apps/v1"))
        await api.delete(REPLICASETS, "web", namespace=NS)
        await api.create(REPLICASETS, owned_by("ReplicaSet", "web", api_version="apps/v1"))
        await api.create(PODS, owned_by("Pod", "stale", old))
        await gone(api, PODS, "stale")
        assert await exists(api, REPLICASETS, "web")
