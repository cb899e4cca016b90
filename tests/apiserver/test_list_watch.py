"""LIST (selectors, pages over one snapshot, tokens) and WATCH (initial events, changes, 410)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp

from tests.apiserver.conftest import Client, pod
from tinykube.testbeds.apiserver import RunningApiServer

PODS = "/api/v1/namespaces/default/pods"
WAIT_S = 10.0


async def _pods(client: Client, count: int, **labels: str) -> None:
    for index in range(count):
        assert (await client.post(PODS, pod(f"p{index:02}", labels=dict(labels, n=str(index))))).status == 201


async def test_label_and_field_selectors_filter_lists(client: Client) -> None:
    await _pods(client, 3, app="a")
    await client.post(PODS, pod("other", labels={"app": "b"}))
    names = lambda reply: [item["metadata"]["name"] for item in reply.body["items"]]  # noqa: E731
    assert names(await client.get(f"{PODS}?labelSelector=app%3Da")) == ["p00", "p01", "p02"]
    assert names(await client.get(f"{PODS}?labelSelector=app+in+(b),n")) == []
    assert names(await client.get(f"{PODS}?labelSelector=app!%3Da")) == ["other"]
    assert names(await client.get(f"{PODS}?labelSelector=n+notin+(0,1)")) == ["other", "p02"]
    assert names(await client.get(f"{PODS}?labelSelector=!n")) == ["other"]
    assert names(await client.get(f"{PODS}?fieldSelector=metadata.name%3Dp01")) == ["p01"]
    assert names(await client.get("/api/v1/pods?fieldSelector=metadata.namespace!%3Ddefault")) == []
    bad = await client.get(f"{PODS}?fieldSelector=spec.bogus%3D1")
    assert bad.status == 400 and "field label not supported: spec.bogus" in bad.body["message"]


async def test_pages_share_one_snapshot(client: Client) -> None:
    await _pods(client, 5)
    first = (await client.get(f"{PODS}?limit=2")).body
    assert [i["metadata"]["name"] for i in first["items"]] == ["p00", "p01"]
    assert first["metadata"]["remainingItemCount"] == 3
    await client.delete(f"{PODS}/p03")
    token = first["metadata"]["continue"]
    second = (await client.get(f"{PODS}?limit=2&continue={token}")).body
    third = (await client.get(f"{PODS}?limit=2&continue={second['metadata']['continue']}")).body
    names = [i["metadata"]["name"] for i in second["items"] + third["items"]]
    assert names == ["p02", "p03", "p04"]
    assert "continue" not in third["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_tampered_continue_token_is_400(client: Client) -> None:
    await _pods(client, 3)
    token = (await client.get(f"{PODS}?limit=1")).body["metadata"]["continue"]
    decoded = json.loads(base64.urlsafe_b64decode(token + "=="))
    forged = base64.urlsafe_b64encode(json.dumps(decoded | {"rv": "x"}).encode()).decode()
    for bad in (forged, "not-base64!", token[:-3]):
        reply = await client.get(f"{PODS}?limit=1&continue={bad}")
        assert reply.status == 400, bad
        assert "continue" in reply.body["message"]


async def test_resource_version_from_the_future_is_504(client: Client) -> None:
    reply = await client.get(f"{PODS}?resourceVersion=999999")
    assert reply.status == 504
    assert reply.body["reason"] == "Timeout"
    assert "Too large resource version" in reply.body["message"]
    assert reply.headers["Retry-After"] == "1"


async def test_table_has_the_pod_columns(client: Client) -> None:
    await _pods(client, 1)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    body = (await client.get(PODS, headers={"Accept": accept})).body
    assert body["kind"] == "Table"
    assert [c["name"] for c in body["columnDefinitions"] if c["priority"] == 0] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert body["rows"][0]["cells"][:4] == ["p00", "0/1", "Pending", "0"]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


async def _events(session: aiohttp.ClientSession, url: str, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with session.get(url) as response:
        assert response.status == 200
        async for line in response.content:
            events.append(json.loads(line))
            if len(events) == count:
                break
    return events


async def test_watch_sends_initial_state_then_changes(client: Client) -> None:
    await _pods(client, 2)
    async with client.session.get(f"{client.url}{PODS}?watch=1") as response:
        events = [json.loads(await asyncio.wait_for(response.content.readline(), WAIT_S)) for _ in range(2)]
        await client.post(PODS, pod("late"))
        await client.delete(f"{PODS}/p00")
        events += [json.loads(await asyncio.wait_for(response.content.readline(), WAIT_S)) for _ in range(2)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "p00"),
        ("ADDED", "p01"),
        ("ADDED", "late"),
        ("DELETED", "p00"),
    ]


async def test_watch_from_a_resource_version_replays_what_followed(client: Client) -> None:
    created = (await client.post(PODS, pod("a"))).body
    revision = created["metadata"]["resourceVersion"]
    await client.post(PODS, pod("b"))
    changed = dict(created, metadata=dict(created["metadata"], labels={"x": "y"}))
    await client.put(f"{PODS}/a", changed)
    url = f"{client.url}{PODS}?watch=true&resourceVersion={revision}"
    events = await asyncio.wait_for(_events(client.session, url, 2), WAIT_S)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"),
        ("MODIFIED", "a"),
    ]


async def test_watch_selection_turns_leaving_objects_into_deletes(client: Client) -> None:
    created = (await client.post(PODS, pod("a", labels={"app": "x"}))).body
    revision = created["metadata"]["resourceVersion"]
    url = f"{client.url}{PODS}?watch=1&labelSelector=app%3Dx&resourceVersion={revision}"
    watching = asyncio.create_task(_events(client.session, url, 1))
    created["metadata"]["labels"] = {"app": "other"}
    await client.put(f"{PODS}/a", created)
    events = await asyncio.wait_for(watching, WAIT_S)
    assert events[0]["type"] == "DELETED"


async def test_send_initial_events_ends_with_a_bookmark(client: Client) -> None:
    await _pods(client, 1)
    url = (
        f"{client.url}{PODS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        "&allowWatchBookmarks=true"
    )
    events = await asyncio.wait_for(_events(client.session, url, 2), WAIT_S)
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_timeout_ends_the_stream(client: Client) -> None:
    events = await asyncio.wait_for(
        _events(client.session, f"{client.url}{PODS}?watch=1&timeoutSeconds=1", 99), WAIT_S
    )
    assert events == []


async def test_namespace_deletion_removes_its_content(client: Client, apiserver: RunningApiServer) -> None:
    await client.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}}
    )
    await client.post(
        "/api/v1/namespaces/t/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    )
    deleting = await client.delete("/api/v1/namespaces/t")
    assert deleting.body["status"]["phase"] == "Terminating"
    refused = await client.post(
        "/api/v1/namespaces/t/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}},
    )
    assert refused.status in (403, 404)
    for _ in range(100):
        if (await client.get("/api/v1/namespaces/t")).status == 404:
            break
        await asyncio.sleep(0.1)
    assert (await client.get("/api/v1/namespaces/t")).status == 404
    assert (await client.get("/api/v1/namespaces/t/configmaps/c")).status == 404


async def test_updating_a_terminating_namespace_keeps_its_content_deletion(client: Client) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t", "finalizers": ["x/hold"]}}
    await client.post("/api/v1/namespaces", namespace)
    await client.delete("/api/v1/namespaces/t")
    for _ in range(50):  # the namespace controller may update it between our read and write
        deleting = (await client.get("/api/v1/namespaces/t")).body
        deleting["metadata"]["labels"] = {"touched": "yes"}
        if (await client.put("/api/v1/namespaces/t", deleting)).status == 200:
            break
    assert (await client.get("/api/v1/namespaces/t")).body["metadata"]["labels"]["touched"] == "yes"
    assert (await client.get("/api/v1/namespaces/t")).body["status"]["phase"] == "Terminating"
