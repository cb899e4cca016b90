"""The store contract, part 1: revisions, compare-and-swap, reads at a revision, lists and pagination."""

from __future__ import annotations

import asyncio

import pytest

from api.storage.errors import Compacted, Conflict, FutureRevision, InvalidRequest, KeyExists, KeyNotFound
from api.storage.keys import prefix_end
from api.storage.protocol import Store
from api.storage.types import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    KeyValue,
    Put,
    PutResult,
    Range,
    RangeResult,
    Txn,
)


async def test_every_write_gets_the_next_revision(store: Store, prefix: bytes) -> None:
    start = await store.current_revision()
    first = await store.create(prefix + b"a", b"1")
    second = await store.create(prefix + b"b", b"2")
    updated = await store.update(prefix + b"a", b"3", expected_revision=first.mod_revision)
    assert first.mod_revision > start
    assert second.mod_revision == first.mod_revision + 1
    assert updated.mod_revision == second.mod_revision + 1
    assert updated.create_revision == first.mod_revision
    assert updated.version == 2
    assert await store.current_revision() >= updated.mod_revision


async def test_get_returns_what_was_written(store: Store, prefix: bytes) -> None:
    created = await store.create(prefix + b"k", b"value")
    got = await store.get(prefix + b"k")
    assert got.kv == created
    assert (await store.get(prefix + b"missing")).kv is None


async def test_create_refuses_an_existing_key(store: Store, prefix: bytes) -> None:
    await store.create(prefix + b"k", b"1")
    with pytest.raises(KeyExists):
        await store.create(prefix + b"k", b"2")
    assert (await store.get(prefix + b"k")).kv is not None
    assert (await store.get(prefix + b"k")).kv.value == b"1"  # type: ignore[union-attr]


async def test_stale_update_conflicts_and_reports_current(store: Store, prefix: bytes) -> None:
    created = await store.create(prefix + b"k", b"1")
    current = await store.update(prefix + b"k", b"2", expected_revision=created.mod_revision)
    with pytest.raises(Conflict) as raised:
        await store.update(prefix + b"k", b"3", expected_revision=created.mod_revision)
    assert raised.value.current == current
    assert (await store.get(prefix + b"k")).kv == current


async def test_update_of_a_missing_key_is_not_found(store: Store, prefix: bytes) -> None:
    with pytest.raises(KeyNotFound):
        await store.update(prefix + b"nope", b"1", expected_revision=5)


async def test_delete_compares_the_expected_revision(store: Store, prefix: bytes) -> None:
    created = await store.create(prefix + b"k", b"1")
    updated = await store.update(prefix + b"k", b"2", expected_revision=created.mod_revision)
    with pytest.raises(Conflict) as raised:
        await store.delete(prefix + b"k", expected_revision=created.mod_revision)
    assert raised.value.current == updated
    deleted = await store.delete(prefix + b"k", expected_revision=updated.mod_revision)
    assert deleted == updated
    assert (await store.get(prefix + b"k")).kv is None
    with pytest.raises(KeyNotFound):
        await store.delete(prefix + b"k")


async def test_recreated_key_starts_a_new_life(store: Store, prefix: bytes) -> None:
    first = await store.create(prefix + b"k", b"1")
    await store.delete(prefix + b"k")
    again = await store.create(prefix + b"k", b"2")
    assert again.version == 1
    assert again.create_revision == again.mod_revision > first.mod_revision


async def test_concurrent_updates_on_one_revision_let_one_win(store: Store, prefix: bytes) -> None:
    created = await store.create(prefix + b"k", b"0")
    outcomes = await asyncio.gather(
        *(
            store.update(prefix + b"k", str(i).encode(), expected_revision=created.mod_revision)
            for i in range(8)
        ),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, BaseException))


async def test_get_at_an_old_revision_sees_the_old_value(store: Store, prefix: bytes) -> None:
    first = await store.create(prefix + b"k", b"old")
    await store.update(prefix + b"k", b"new", expected_revision=first.mod_revision)
    old = await store.get(prefix + b"k", revision=first.mod_revision)
    assert old.kv == first
    assert (await store.get(prefix + b"k", revision=first.mod_revision - 1)).kv is None


async def test_reading_a_future_revision_fails(store: Store, prefix: bytes) -> None:
    current = await store.current_revision()
    with pytest.raises(FutureRevision):
        await store.get(prefix + b"k", revision=current + 1000)


async def test_reads_below_the_compaction_point_are_compacted(store: Store, prefix: bytes) -> None:
    first = await store.create(prefix + b"k", b"1")
    second = await store.update(prefix + b"k", b"2", expected_revision=first.mod_revision)
    await store.compact(second.mod_revision)
    with pytest.raises(Compacted):
        await store.get(prefix + b"k", revision=first.mod_revision)
    with pytest.raises(Compacted):
        await store.watch(prefix + b"k", start_revision=first.mod_revision)
    assert (await store.get(prefix + b"k", revision=second.mod_revision)).kv == second
    assert (await store.get(prefix + b"k")).kv == second


async def test_compaction_keeps_the_state_at_the_compaction_revision(store: Store, prefix: bytes) -> None:
    kept = await store.create(prefix + b"kept", b"1")
    gone = await store.create(prefix + b"gone", b"1")
    await store.delete(prefix + b"gone")
    later = await store.create(prefix + b"later", b"1")
    await store.compact(later.mod_revision)
    listed = await store.list(prefix, revision=later.mod_revision)
    assert [kv.key for kv in listed.kvs] == [prefix + b"kept", prefix + b"later"]
    assert listed.kvs[0] == kept
    assert gone.key not in [kv.key for kv in listed.kvs]


async def test_list_pages_see_one_snapshot_while_writes_go_on(store: Store, prefix: bytes) -> None:
    originals = [await store.create(prefix + f"{i:03}".encode(), b"v0") for i in range(40)]
    snapshot = await store.current_revision()

    async def churn() -> None:
        for kv in originals[::3]:
            await store.update(kv.key, b"v1", expected_revision=kv.mod_revision)
        for kv in originals[1::3]:
            await store.delete(kv.key)
        for i in range(40, 50):
            await store.create(prefix + f"{i:03}".encode(), b"new")

    writer = asyncio.create_task(churn())
    seen: list[KeyValue] = []
    continue_key = None
    while True:
        page = await store.list(prefix, revision=snapshot, limit=7, continue_key=continue_key)
        assert page.count == 40 - len(seen)
        seen.extend(page.kvs)
        continue_key = page.continue_key
        if continue_key is None:
            break
    await writer
    assert seen == originals
    latest = await store.list(prefix)
    assert latest.count == 40 - len(originals[1::3]) + 10
    assert latest.revision >= snapshot


async def test_list_stays_inside_its_prefix_and_counts(store: Store, prefix: bytes) -> None:
    await store.create(prefix + b"pods/a", b"1")
    await store.create(prefix + b"pods/b", b"1")
    await store.create(prefix + b"podsx", b"1")
    await store.create(prefix + b"services/a", b"1")
    listed = await store.list(prefix + b"pods/")
    assert [kv.key for kv in listed.kvs] == [prefix + b"pods/a", prefix + b"pods/b"]
    assert await store.count(prefix + b"pods/") == 2
    assert await store.count(prefix) == 4


async def test_range_limit_keys_only_and_count_only(store: Store, prefix: bytes) -> None:
    for i in range(5):
        await store.create(prefix + bytes([ord("a") + i]), b"value")
    end = prefix_end(prefix)
    limited = await store.range(Range(prefix, end, limit=2))
    assert (len(limited.kvs), limited.count, limited.more) == (2, 5, True)
    keys_only = await store.range(Range(prefix, end, keys_only=True))
    assert all(kv.value == b"" for kv in keys_only.kvs) and len(keys_only.kvs) == 5
    counted = await store.range(Range(prefix, end, count_only=True))
    assert (counted.kvs, counted.count) == ((), 5)


async def test_a_transaction_is_atomic_and_writes_one_revision(store: Store, prefix: bytes) -> None:
    await store.create(prefix + b"a", b"1")
    result = await store.txn(
        Txn(
            compares=(Compare(prefix + b"a", CompareTarget.VALUE, CompareResult.EQUAL, b"1"),),
            success=(Put(prefix + b"b", b"2"), Put(prefix + b"c", b"3"), DeleteRange(prefix + b"a")),
        )
    )
    assert result.succeeded
    b, c = (await store.get(prefix + b"b")).kv, (await store.get(prefix + b"c")).kv
    assert b is not None and c is not None
    assert b.mod_revision == c.mod_revision == result.revision
    failed = await store.txn(
        Txn(
            compares=(Compare(prefix + b"b", CompareTarget.VERSION, CompareResult.GREATER, 5),),
            success=(Put(prefix + b"b", b"never"),),
            failure=(Range(prefix + b"b"),),
        )
    )
    assert not failed.succeeded
    assert isinstance(failed.results[0], RangeResult)
    assert failed.results[0].kvs == (b,)
    assert failed.revision == result.revision


async def test_put_reports_the_previous_value(store: Store, prefix: bytes) -> None:
    first = await store.create(prefix + b"k", b"1")
    result = await store.txn(Txn(success=(Put(prefix + b"k", b"2"),)))
    assert isinstance(result.results[0], PutResult)
    assert result.results[0].prev_kv == first


@pytest.mark.parametrize("size", [1024 * 1024, 1536 * 1024 - 4096])
async def test_large_values_round_trip(store: Store, prefix: bytes, size: int) -> None:
    value = bytes(range(256)) * (size // 256)
    created = await store.create(prefix + b"big", value)
    got = await store.get(prefix + b"big")
    assert got.kv is not None and got.kv.value == value
    assert got.kv.mod_revision == created.mod_revision


async def test_an_empty_key_is_refused(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="key is not provided"):
        await store.create(b"", b"v")
    with pytest.raises(InvalidRequest, match="key is not provided"):
        await store.range(Range(b""))
