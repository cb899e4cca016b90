"""What every client relies on from the API: CRUD semantics, optimistic concurrency and typed errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.client import errors
from api.client.protocol import Api
from api.client.resources import CONFIGMAPS
from api.client.types import PatchType, Selectors

NS = "default"


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "data": data,
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_create_then_get_returns_the_stored_object(api: Api) -> None:
    name = unique("cm")
    created = await api.create(CONFIGMAPS, configmap(name, a="1"))
    fetched = await api.get(CONFIGMAPS, name, namespace=NS)
    assert fetched["data"] == {"a": "1"}
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]
    assert fetched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert fetched["metadata"]["creationTimestamp"]


async def test_create_of_a_taken_name_raises_already_exists(api: Api) -> None:
    name = unique("cm")
    await api.create(CONFIGMAPS, configmap(name))
    with pytest.raises(errors.AlreadyExists) as raised:
        await api.create(CONFIGMAPS, configmap(name))
    assert raised.value.code == 409
    assert raised.value.message == f'configmaps "{name}" already exists'


async def test_get_of_a_missing_object_raises_not_found(api: Api) -> None:
    with pytest.raises(errors.NotFound) as raised:
        await api.get(CONFIGMAPS, "absent", namespace=NS)
    assert raised.value.message == 'configmaps "absent" not found'
    assert raised.value.details["name"] == "absent"


async def test_update_with_a_stale_resource_version_raises_conflict(api: Api) -> None:
    name = unique("cm")
    first = await api.create(CONFIGMAPS, configmap(name, a="1"))
    await api.update(CONFIGMAPS, {**first, "data": {"a": "2"}})
    with pytest.raises(errors.Conflict) as raised:
        await api.update(CONFIGMAPS, {**first, "data": {"a": "3"}})
    assert not isinstance(raised.value, errors.AlreadyExists)
    assert "the object has been modified" in raised.value.message
    assert (await api.get(CONFIGMAPS, name, namespace=NS))["data"] == {"a": "2"}


async def test_update_moves_the_resource_version_forward(api: Api) -> None:
    created = await api.create(CONFIGMAPS, configmap(unique("cm"), a="1"))
    updated = await api.update(CONFIGMAPS, {**created, "data": {"a": "2"}})
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


async def test_create_without_a_name_is_invalid_naming_the_field(api: Api) -> None:
    with pytest.raises(errors.Invalid) as raised:
        await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": NS}})
    assert [c.field for c in raised.value.causes] == ["metadata.name"]


async def test_a_body_without_kind_is_a_bad_request(api: Api) -> None:
    with pytest.raises(errors.BadRequest) as raised:
        await api.create(CONFIGMAPS, {"metadata": {"name": unique("cm"), "namespace": NS}})
    assert raised.value.message.startswith("Object 'Kind' is missing in '{")


async def test_generate_name_gets_a_suffix(api: Api) -> None:
    created = await api.create(
        CONFIGMAPS,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-", "namespace": NS}},
    )
    assert created["metadata"]["name"].startswith("gen-")
    assert len(created["metadata"]["name"]) > len("gen-")


@pytest.mark.parametrize(
    ("patch_type", "patch"),
    [
        (PatchType.MERGE, {"data": {"b": "2", "a": None}}),
        (PatchType.STRATEGIC, {"data": {"b": "2", "a": None}}),
        (
            PatchType.JSON,
            [{"op": "remove", "path": "/data/a"}, {"op": "add", "path": "/data/b", "value": "2"}],
        ),
    ],
)
async def test_patch_changes_only_what_it_names(api: Api, patch_type: PatchType, patch: Any) -> None:
    name = unique("cm")
    await api.create(CONFIGMAPS, configmap(name, {"keep": "yes"}, a="1"))
    patched = await api.patch(CONFIGMAPS, name, patch, patch_type=patch_type, namespace=NS)
    assert patched["data"] == {"b": "2"}
    assert patched["metadata"]["labels"] == {"keep": "yes"}


async def test_delete_removes_and_a_second_delete_is_not_found(api: Api) -> None:
    name = unique("cm")
    await api.create(CONFIGMAPS, configmap(name))
    await api.delete(CONFIGMAPS, name, namespace=NS)
    with pytest.raises(errors.NotFound):
        await api.get(CONFIGMAPS, name, namespace=NS)
    with pytest.raises(errors.NotFound):
        await api.delete(CONFIGMAPS, name, namespace=NS)


async def test_list_filters_by_label_selector(api: Api) -> None:
    tag = unique("t")
    await api.create(CONFIGMAPS, configmap(unique("cm"), {"tag": tag, "tier": "web"}))
    await api.create(CONFIGMAPS, configmap(unique("cm"), {"tag": tag, "tier": "db"}))
    listed = await api.list(CONFIGMAPS, namespace=NS, selectors=Selectors(labels=f"tag={tag},tier!=db"))
    assert [item["metadata"]["labels"]["tier"] for item in listed.items] == ["web"]
    assert int(listed.resource_version) > 0


async def test_list_pages_with_limit_and_continue(api: Api) -> None:
    tag = unique("t")
    names = {unique("cm") for _ in range(5)}
    for name in names:
        await api.create(CONFIGMAPS, configmap(name, {"tag": tag}))
    seen: list[str] = []
    token: str | None = None
    while True:
        page = await api.list(
            CONFIGMAPS, namespace=NS, selectors=Selectors(labels=f"tag={tag}"), limit=2, continue_token=token
        )
        assert len(page.items) <= 2
        seen += [item["metadata"]["name"] for item in page.items]
        token = page.continue_token
        if token is None:
            break
    assert sorted(seen) == sorted(names)
