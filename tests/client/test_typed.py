"""The typed view: generated model dataclasses in and out of the same JSON API."""

from __future__ import annotations

import contextlib

from api.client.fake import FakeApi
from api.client.resources import PODS
from api.client.typed import TypedResource
from api.client.types import EventType
from api.model import core_v1, meta_v1


def pod(name: str) -> core_v1.Pod:
    return core_v1.Pod(
        metadata=meta_v1.ObjectMeta(name=name, namespace="default", labels={"app": "web"}),
        spec=core_v1.PodSpec(containers=(core_v1.Container(name="c", image="busybox"),)),
    )


async def test_models_round_trip_through_create_get_and_update() -> None:
    api = FakeApi()
    pods = TypedResource(api, PODS, core_v1.Pod)
    created = await pods.create(pod("p"))
    assert created.kind == "Pod"
    assert created.metadata is not None and created.metadata.uid
    fetched = await pods.get("p", namespace="default")
    assert fetched.spec is not None and fetched.spec.containers[0].image == "busybox"
    relabeled = fetched.replace(metadata=fetched.metadata.replace(labels={"app": "db"}))
    updated = await pods.update(relabeled)
    assert updated.metadata is not None and updated.metadata.labels == {"app": "db"}
    assert (await api.get(PODS, "p", namespace="default"))["metadata"]["labels"] == {"app": "db"}


async def test_watch_yields_typed_objects() -> None:
    api = FakeApi()
    pods = TypedResource(api, PODS, core_v1.Pod)
    start = api.resource_version
    await pods.create(pod("p"))
    async with contextlib.aclosing(pods.watch(namespace="default", resource_version=start)) as events:
        event_type, watched = await anext(events)
    assert event_type is EventType.ADDED
    assert isinstance(watched, core_v1.Pod)
    assert watched.metadata is not None and watched.metadata.name == "p"
