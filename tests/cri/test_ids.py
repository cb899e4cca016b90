"""Ids, prefixes and name reservation as crictl users and the kubelet rely on them."""

from __future__ import annotations

import asyncio

import pytest

from cri import errors
from cri.ids import NameRegistry, new_id, resolve_prefix


def test_ids_are_64_hex_characters_and_unique() -> None:
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 64 and int(i, 16) >= 0 for i in ids)


def test_prefix_resolution() -> None:
    ids = ["abc123", "abd456"]
    assert resolve_prefix("abc", ids, kind="container") == "abc123"
    with pytest.raises(errors.NotFound, match="ambiguous"):
        resolve_prefix("ab", ids, kind="container")
    with pytest.raises(errors.NotFound, match="not found"):
        resolve_prefix("zz", ids, kind="container")


async def test_a_retry_while_the_first_call_runs_gets_the_first_result() -> None:
    names = NameRegistry("pod sandbox")
    release = asyncio.Event()
    calls = 0

    async def slow_create() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "id-1"

    first = asyncio.ensure_future(names.create("web_default_uid_0", slow_create))
    await asyncio.sleep(0)
    retry = asyncio.ensure_future(names.create("web_default_uid_0", slow_create))
    await asyncio.sleep(0)
    release.set()
    assert await first == "id-1" and await retry == "id-1"
    assert calls == 1
    with pytest.raises(errors.AlreadyExists, match="reserved for id-1"):
        await names.create("web_default_uid_0", slow_create)
    names.release("id-1")
    assert await names.create("web_default_uid_0", slow_create) == "id-1"


async def test_a_failed_create_frees_the_name() -> None:
    names = NameRegistry("container")

    async def failing() -> str:
        raise errors.NotFound("image missing")

    with pytest.raises(errors.NotFound):
        await names.create("c", failing)

    async def working() -> str:
        return "id-2"

    assert await names.create("c", working) == "id-2"
