"""The ReplicaSet controller: replicas kept, adoption and release, expectations, status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.client.clock import ManualClock
from api.client.informer import InformerFactory
from api.client.protocol import Api
from api.client.resources import EVENTS, PODS, REPLICASETS
from api.client.types import Obj, PatchType
from controllers.replicaset import ReplicaSetController
from tests.client.polling import eventually

NS = "default"


def replicaset(name: str, replicas: int, *, min_ready_seconds: int = 0) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready_seconds,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def orphan(name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


@asynccontextmanager
async def running(api: Api, clock: ManualClock | None = None) -> AsyncIterator[ReplicaSetController]:
    factory = InformerFactory(api)
    controller = ReplicaSetController(api, factory, clock=clock)
    async with asyncio.TaskGroup() as tasks:
        runs = [tasks.create_task(factory.run()), tasks.create_task(controller.run())]
        try:
            yield controller
        finally:
            for run in runs:
                run.cancel()


def pods_of(controller: ReplicaSetController, rs_name: str) -> list[Obj]:
    return [
        p
        for p in controller.pods.store.list()
        if any(r["name"] == rs_name for r in p["metadata"].get("ownerReferences", ()))
    ]


def cached_status(controller: ReplicaSetController, name: str) -> dict[str, Any]:
    replicaset = controller.replicasets.store.get(f"{NS}/{name}") or {}
    return dict(replicaset.get("status") or {})


async def live_pods(api: Api) -> list[Obj]:
    return list((await api.list(PODS, namespace=NS)).items)


async def status_of(api: Api, name: str) -> dict[str, Any]:
    return dict((await api.get(REPLICASETS, name, namespace=NS)).get("status") or {})


async def test_creates_the_replicas_owned_by_the_replicaset(api: Api) -> None:
    async with running(api) as controller:
        rs = await api.create(REPLICASETS, replicaset("web", 3))
        await eventually(lambda: len(pods_of(controller, "web")) == 3)
        pods = await live_pods(api)
        await eventually(lambda: cached_status(controller, "web").get("replicas") == 3)
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith("web-")
        assert pod["metadata"]["labels"] == {"app": "web"}
        (reference,) = pod["metadata"]["ownerReferences"]
        assert (reference["uid"], reference["controller"], reference["kind"]) == (
            rs["metadata"]["uid"],
            True,
            "ReplicaSet",
        )
    reasons = [e["reason"] for e in (await api.list(EVENTS, namespace=NS)).items]
    assert reasons.count("SuccessfulCreate") == 3


async def test_scaling_down_deletes_and_a_deleted_pod_is_replaced(api: Api) -> None:
    async with running(api) as controller:
        await api.create(REPLICASETS, replicaset("web", 3))
        await eventually(lambda: len(pods_of(controller, "web")) == 3)
        await api.patch(
            REPLICASETS, "web", {"spec": {"replicas": 1}}, patch_type=PatchType.MERGE, namespace=NS
        )
        await eventually(lambda: len(pods_of(controller, "web")) == 1)
        (survivor,) = pods_of(controller, "web")
        await api.delete(PODS, survivor["metadata"]["name"], namespace=NS)
        await eventually(
            lambda: (
                [p["metadata"]["name"] for p in pods_of(controller, "web")]
                not in ([], [survivor["metadata"]["name"]])
            )
        )
    assert len(await live_pods(api)) == 1


async def test_an_orphan_matching_the_selector_is_adopted_and_a_relabeled_pod_released(api: Api) -> None:
    await api.create(PODS, orphan("stray", "web"))
    async with running(api) as controller:
        rs = await api.create(REPLICASETS, replicaset("web", 2))
        await eventually(lambda: len(pods_of(controller, "web")) == 2)
        stray = await api.get(PODS, "stray", namespace=NS)
        assert stray["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        relabeled = {**stray, "metadata": {**stray["metadata"], "labels": {"app": "other"}}}
        await api.update(PODS, relabeled)
        await eventually(
            lambda: (
                len(pods_of(controller, "web")) == 2
                and "default/stray"
                not in {
                    f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                    for p in pods_of(controller, "web")
                }
            )
        )
    released = await api.get(PODS, "stray", namespace=NS)
    assert released["metadata"].get("ownerReferences", []) == []
    assert len(await live_pods(api)) == 3


async def test_a_lagging_pod_watch_never_causes_a_second_round_of_creates(api: Api) -> None:
    controller = ReplicaSetController(api, InformerFactory(api))
    await api.create(REPLICASETS, replicaset("web", 3))

    async def sync_with_fresh_replicaset() -> None:
        controller.replicasets.store.put(await api.get(REPLICASETS, "web", namespace=NS))
        await controller.sync("default/web")

    await sync_with_fresh_replicaset()
    await sync_with_fresh_replicaset()
    assert len(await live_pods(api)) == 3
    for pod in await live_pods(api):
        controller.pods.store.put(pod)
        controller._pod_added(pod)
    await sync_with_fresh_replicaset()
    assert len(await live_pods(api)) == 3
    assert (await status_of(api, "web"))["replicas"] == 3


async def test_available_replicas_count_pods_ready_for_min_ready_seconds(api: Api) -> None:
    clock = ManualClock()
    async with running(api, clock) as controller:
        await api.create(REPLICASETS, replicaset("web", 1, min_ready_seconds=10))
        await eventually(lambda: len(pods_of(controller, "web")) == 1)
        (pod,) = await live_pods(api)
        ready = {
            "type": "Ready",
            "status": "True",
            "lastTransitionTime": clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        await api.update(
            PODS, {**pod, "status": {"phase": "Running", "conditions": [ready]}}, subresource="status"
        )
        await eventually(lambda: cached_status(controller, "web").get("readyReplicas") == 1)
        status = await status_of(api, "web")
        assert "availableReplicas" not in status
        await eventually(lambda: controller.loop.queue.waiting == 1)
        clock.advance(10)
        await eventually(lambda: cached_status(controller, "web").get("availableReplicas") == 1)
    assert (await status_of(api, "web"))["observedGeneration"] == 1


async def test_counts_that_drop_to_zero_leave_the_status(api: Api) -> None:
    async with running(api) as controller:
        await api.create(REPLICASETS, replicaset("web", 1))
        await eventually(lambda: len(pods_of(controller, "web")) == 1)
        (pod,) = await live_pods(api)
        ready = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        await api.update(
            PODS, {**pod, "status": {"phase": "Running", "conditions": [ready]}}, subresource="status"
        )
        await eventually(lambda: cached_status(controller, "web").get("availableReplicas") == 1)
        await api.patch(
            REPLICASETS, "web", {"spec": {"replicas": 0}}, patch_type=PatchType.MERGE, namespace=NS
        )
        await eventually(lambda: cached_status(controller, "web").get("replicas") == 0)
    final = await status_of(api, "web")
    assert "availableReplicas" not in final and "readyReplicas" not in final
