"""PATCH in its four types through the API, and the merge rules behind them."""

from __future__ import annotations

from api.machinery.patch import definition_node, json_patch, merge_patch, strategic_merge
from tests.apiserver.conftest import Client, pod

PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
POD_SPEC = definition_node("io.k8s.api.core.v1.PodSpec")


def test_strategic_merge_merges_containers_by_name_and_honours_directives() -> None:
    spec = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}], "args": ["x"]}
    patched = strategic_merge(
        spec, {"containers": [{"name": "b", "image": "3"}, {"name": "c", "image": "4"}]}, POD_SPEC
    )
    assert patched["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "b", "image": "3"},
        {"name": "c", "image": "4"},
    ]
    deleted = strategic_merge(spec, {"containers": [{"name": "a", "$patch": "delete"}]}, POD_SPEC)
    assert deleted["containers"] == [{"name": "b", "image": "2"}]
    replaced = strategic_merge(
        spec, {"containers": [{"name": "z", "image": "9"}, {"$patch": "replace"}]}, POD_SPEC
    )
    assert replaced["containers"] == [{"name": "z", "image": "9"}]
    ordered = strategic_merge(spec, {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}, POD_SPEC)
    assert [c["name"] for c in ordered["containers"]] == ["b", "a"]


def test_merge_patch_and_json_patch_follow_their_rfcs() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"d": 3}}) == {"b": {"c": 2, "d": 3}}
    document = {"list": [1, 2], "x": {"y": 1}}
    operations = [
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "remove", "path": "/x/y"},
        {"op": "test", "path": "/list/0", "value": 1},
        {"op": "copy", "from": "/list", "path": "/z"},
    ]
    assert json_patch(document, operations) == {"list": [1, 2, 3], "x": {}, "z": [1, 2, 3]}


async def test_every_patch_type_changes_the_stored_object(client: Client) -> None:
    await client.post(PODS, pod("web", labels={"app": "web"}))
    steps = [
        ("application/strategic-merge-patch+json", {"metadata": {"labels": {"s": "1"}}}),
        ("application/merge-patch+json", {"metadata": {"labels": {"app": None}}}),
        ("application/json-patch+json", [{"op": "add", "path": "/metadata/labels/j", "value": "2"}]),
    ]
    for content_type, body in steps:
        reply = await client.patch(f"{PODS}/web", body, content_type)
        assert reply.status == 200, reply.body
    assert (await client.get(f"{PODS}/web")).body["metadata"]["labels"] == {"s": "1", "j": "2"}


async def test_failing_json_patch_is_422_and_unknown_patch_type_415(client: Client) -> None:
    await client.post(PODS, pod("web"))
    failing = [{"op": "remove", "path": "/metadata/nothing"}]
    reply = await client.patch(f"{PODS}/web", failing, "application/json-patch+json")
    assert reply.status == 422
    reply = await client.patch(f"{PODS}/web", {}, "application/xml")
    assert reply.status == 415


def _deployment(replicas: int, image: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


async def test_server_side_apply_tracks_managers_conflicts_and_force(client: Client) -> None:
    apply = "application/apply-patch+yaml"
    created = await client.patch(f"{DEPLOYMENTS}/d?fieldManager=alice", _deployment(1, "a"), apply)
    assert created.status == 201
    assert created.body["metadata"]["managedFields"][0]["manager"] == "alice"
    clash = await client.patch(f"{DEPLOYMENTS}/d?fieldManager=bob", _deployment(2, "a"), apply)
    assert clash.status == 409
    assert clash.body["reason"] == "Conflict"
    assert clash.body["details"]["causes"][0]["field"] == ".spec.replicas"
    assert (
        clash.body["message"]
        == 'Apply failed with 1 conflict: conflict with "alice" using apps/v1: .spec.replicas'
    )
    forced = await client.patch(f"{DEPLOYMENTS}/d?fieldManager=bob&force=true", _deployment(2, "a"), apply)
    assert forced.status == 200 and forced.body["spec"]["replicas"] == 2
    managers = {e["manager"] for e in forced.body["metadata"]["managedFields"]}
    assert managers == {"alice", "bob"}
    missing = await client.patch(f"{DEPLOYMENTS}/d", _deployment(2, "a"), apply)
    assert missing.status == 400


async def test_reapplying_without_a_field_removes_it(client: Client) -> None:
    apply = "application/apply-patch+yaml"
    first = _deployment(1, "a")
    first["metadata"] = {"name": "d", "labels": {"keep": "1", "drop": "1"}}
    await client.patch(f"{DEPLOYMENTS}/d?fieldManager=alice", first, apply)
    second = _deployment(1, "b")
    second["metadata"] = {"name": "d", "labels": {"keep": "1"}}
    result = (await client.patch(f"{DEPLOYMENTS}/d?fieldManager=alice", second, apply)).body
    assert result["metadata"]["labels"] == {"keep": "1"}
    assert result["spec"]["template"]["spec"]["containers"][0]["image"] == "b"
    assert result["metadata"]["generation"] == 2
