"""The store contract, part 2: watches (replay then live, prev values, ranges) and leases."""

from __future__ import annotations

import asyncio

import pytest

from api.storage.errors import LeaseNotFound
from api.storage.keys import prefix_end
from api.storage.protocol import Store
from api.storage.types import EventType
from tests.storage.watching import next_events


async def test_watch_replays_then_follows_live_without_gaps(store: Store, prefix: bytes) -> None:
    written = [await store.create(prefix + f"{i:02}".encode(), b"x") for i in range(20)]
    watch = await store.watch(prefix, range_end=prefix_end(prefix), start_revision=written[5].mod_revision)
    try:

        async def more_writes() -> list[int]:
            revisions = []
            for i in range(20, 40):
                revisions.append((await store.create(prefix + f"{i:02}".encode(), b"x")).mod_revision)
            return revisions

        live = asyncio.create_task(more_writes())
        events = await next_events(watch, 35)
        live_revisions = await live
    finally:
        await watch.close()
    revisions = [e.kv.mod_revision for e in events]
    assert revisions == [kv.mod_revision for kv in written[5:]] + live_revisions
    assert all(e.type is EventType.PUT for e in events)


async def test_watch_without_a_revision_starts_after_the_current_one(store: Store, prefix: bytes) -> None:
    await store.create(prefix + b"before", b"1")
    watch = await store.watch(prefix, range_end=prefix_end(prefix))
    try:
        after = await store.create(prefix + b"after", b"2")
        events = await next_events(watch, 1)
    finally:
        await watch.close()
    assert [e.kv for e in events] == [after]


async def test_watch_events_carry_the_previous_value(store: Store, prefix: bytes) -> None:
    watch = await store.watch(prefix + b"k")
    try:
        created = await store.create(prefix + b"k", b"1")
        updated = await store.update(prefix + b"k", b"2", expected_revision=created.mod_revision)
        await store.delete(prefix + b"k")
        events = await next_events(watch, 3)
    finally:
        await watch.close()
    assert [e.type for e in events] == [EventType.PUT, EventType.PUT, EventType.DELETE]
    assert events[0].prev_kv is None
    assert events[1].prev_kv == created
    assert events[2].prev_kv == updated
    assert events[2].kv.key == prefix + b"k"
    assert events[2].kv.mod_revision == updated.mod_revision + 1


async def test_replayed_events_carry_the_previous_value_too(store: Store, prefix: bytes) -> None:
    created = await store.create(prefix + b"k", b"1")
    updated = await store.update(prefix + b"k", b"2", expected_revision=created.mod_revision)
    await store.delete(prefix + b"k")
    watch = await store.watch(prefix + b"k", start_revision=created.mod_revision)
    try:
        events = await next_events(watch, 3)
    finally:
        await watch.close()
    assert [e.prev_kv for e in events] == [None, created, updated]


async def test_a_key_watch_ignores_other_keys(store: Store, prefix: bytes) -> None:
    watch = await store.watch(prefix + b"mine")
    try:
        await store.create(prefix + b"other", b"1")
        await store.create(prefix + b"mine2", b"1")
        mine = await store.create(prefix + b"mine", b"1")
        events = await next_events(watch, 1)
    finally:
        await watch.close()
    assert [e.kv for e in events] == [mine]


async def test_many_watchers_all_see_every_event(store: Store, prefix: bytes) -> None:
    watches = [await store.watch(prefix, range_end=prefix_end(prefix)) for _ in range(10)]
    try:
        written = [await store.create(prefix + f"{i}".encode(), b"v") for i in range(10)]
        seen = await asyncio.gather(*(next_events(w, 10) for w in watches))
    finally:
        for watch in watches:
            await watch.close()
    for events in seen:
        assert [e.kv for e in events] == written


async def test_a_key_with_an_expired_lease_is_deleted(store: Store, prefix: bytes) -> None:
    lease = await store.grant_lease(1)
    created = await store.create(prefix + b"event", b"x", lease=lease.id)
    assert created.lease == lease.id
    watch = await store.watch(prefix + b"event", start_revision=created.mod_revision + 1)
    try:
        events = await next_events(watch, 1, timeout=20)
    finally:
        await watch.close()
    assert events[0].type is EventType.DELETE
    assert (await store.get(prefix + b"event")).kv is None
    assert lease.id not in await store.leases()


async def test_keep_alive_holds_a_lease_and_revoke_deletes_its_keys(store: Store, prefix: bytes) -> None:
    lease = await store.grant_lease(30)
    await store.create(prefix + b"a", b"x", lease=lease.id)
    await store.create(prefix + b"b", b"x", lease=lease.id)
    refreshed = await store.keep_alive(lease.id)
    assert refreshed.ttl == 30
    status = await store.lease_status(lease.id)
    assert status.granted_ttl == 30 and 0 < status.remaining_ttl <= 30
    assert set(status.keys) == {prefix + b"a", prefix + b"b"}
    await store.revoke_lease(lease.id)
    assert await store.count(prefix) == 0
    with pytest.raises(LeaseNotFound):
        await store.keep_alive(lease.id)


async def test_writing_with_an_unknown_lease_fails(store: Store, prefix: bytes) -> None:
    with pytest.raises(LeaseNotFound):
        await store.create(prefix + b"k", b"x", lease=123456789)
    assert (await store.get(prefix + b"k")).kv is None


async def test_a_progress_request_answers_once_earlier_events_are_out(store: Store, prefix: bytes) -> None:
    watch = await store.watch(prefix, range_end=prefix_end(prefix))
    try:
        written = [await store.create(prefix + b"%d" % i, b"v") for i in range(3)]
        await store.create(b"/elsewhere/" + prefix, b"v")
        batches = aiter(watch)
        events = await next_events(watch, 3)
        await watch.request_progress()
        async with asyncio.timeout(15):
            progress = await anext(batches)
    finally:
        await watch.close()
    assert [e.kv for e in events] == written
    assert progress.events == ()
    assert progress.revision >= written[-1].mod_revision
