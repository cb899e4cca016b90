"""The store contract, part 3: random operation sequences give the same results as the memory model."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.storage.errors import StoreError
from api.storage.memory import MemoryStore
from api.storage.protocol import Store
from api.storage.types import KeyValue
from tests.storage.conftest import TARGETS, open_target

KEYS = st.sampled_from([b"a", b"b", b"c", b"d/x", b"d/y"])
VALUES = st.binary(max_size=16)
OPERATIONS = st.one_of(
    st.tuples(st.just("create"), KEYS, VALUES),
    st.tuples(st.just("update"), KEYS, VALUES, st.booleans()),
    st.tuples(st.just("delete"), KEYS, st.sampled_from(["any", "current", "stale"])),
    st.tuples(st.just("get"), KEYS, st.integers(0, 6)),
    st.tuples(st.just("list"), st.sampled_from([b"", b"d/"]), st.integers(0, 3), st.integers(0, 6)),
    st.tuples(st.just("compact"), st.integers(0, 4)),
)


@dataclass
class _Side:
    store: Store
    prefix: bytes
    base: int

    def kv(self, kv: KeyValue | None) -> Any:
        if kv is None:
            return None
        shift = self.base
        return replace(
            kv,
            key=kv.key.removeprefix(self.prefix),
            create_revision=kv.create_revision - shift,
            mod_revision=kv.mod_revision - shift,
        )


async def _resolve(model: MemoryStore, op: tuple[Any, ...]) -> tuple[Any, ...]:
    """Fill in the arguments that depend on state (revisions), read from the model before either side runs."""
    name, *args = op
    current = await model.current_revision()
    if name in ("update", "delete"):
        kv = (await model.get(args[0])).kv
        expected = kv.mod_revision if kv else 2
        stale = args[-1] is True or args[-1] == "stale"
        if name == "delete" and args[-1] == "any":
            return ("delete", args[0], None)
        return (name, *args[:-1], expected - stale)
    if name == "get":
        return ("get", args[0], max(2, current - args[1]))
    if name == "list":
        return ("list", args[0], args[1], max(2, current - args[2]))
    if name == "compact":
        return ("compact", current - args[0]) if current - args[0] > 1 else ("skip",)
    return op


async def _apply(side: _Side, op: tuple[Any, ...]) -> Any:
    name, *args = op
    store = side.store

    def absolute(model_revision: int) -> int:
        return model_revision - 1 + side.base

    if name == "create":
        return side.kv(await store.create(side.prefix + args[0], args[1]))
    if name == "update":
        return side.kv(
            await store.update(side.prefix + args[0], args[1], expected_revision=absolute(args[2]))
        )
    if name == "delete":
        expected = None if args[1] is None else absolute(args[1])
        return side.kv(await store.delete(side.prefix + args[0], expected_revision=expected))
    if name == "get":
        return side.kv((await store.get(side.prefix + args[0], revision=absolute(args[1]))).kv)
    if name == "list":
        page = await store.list(side.prefix + args[0], revision=absolute(args[2]), limit=args[1])
        return [side.kv(kv) for kv in page.kvs], page.count, page.continue_key is not None
    if name == "compact":
        await store.compact(absolute(args[0]))
    return None


async def _outcome(side: _Side, op: tuple[Any, ...]) -> Any:
    try:
        return await _apply(side, op)
    except StoreError as exc:
        return type(exc).__name__


async def _run_sequence(target: Store, operations: list[tuple[Any, ...]]) -> None:
    async with MemoryStore() as model:
        prefix = f"/model/{uuid.uuid4().hex[:8]}/".encode()
        reference = _Side(model, b"", 1)
        side = _Side(target, prefix, await target.current_revision())
        for op in operations:
            resolved = await _resolve(model, op)
            expected = await _outcome(reference, resolved)
            actual = await _outcome(side, resolved)
            assert actual == expected, f"{op}: store gave {actual!r}, model {expected!r}"


async def _against(name: str, request: pytest.FixtureRequest, operations: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        async with open_target(name, request, Path(scratch)) as target:
            await _run_sequence(target, operations)


@pytest.mark.parametrize("target", [p for p in TARGETS if p.id != "memory"])
@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=30))
def test_random_operations_match_the_memory_model(
    target: str, request: pytest.FixtureRequest, operations: list[tuple[Any, ...]]
) -> None:
    with contextlib.closing(asyncio.new_event_loop()) as loop:
        loop.run_until_complete(_against(target, request, operations))
