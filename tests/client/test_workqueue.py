"""Work queue: dedup, one worker per key, delayed and rate-limited retries on an injected clock, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from api.client.clock import ManualClock
from api.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    default_controller_rate_limiter,
)
from api.client.workqueue import ShutDown, WorkQueue
from tests.client.polling import eventually


async def test_a_key_added_twice_is_queued_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert [await queue.get(), await queue.get()] == ["a", "b"]
    assert len(queue) == 0


async def test_a_key_added_while_processed_waits_for_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    assert len(queue) == 0
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"


async def test_add_after_hands_the_key_out_once_its_time_has_come() -> None:
    clock = ManualClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add_after("late", 10)
    queue.add_after("late", 5)
    getter = asyncio.ensure_future(queue.get())
    await eventually(lambda: clock.sleepers == 1)
    clock.advance(4.9)
    assert not getter.done()
    clock.advance(0.1)
    assert await asyncio.wait_for(getter, 5) == "late"
    assert queue.waiting == 0


async def test_a_new_key_wakes_a_getter_waiting_for_a_delayed_one() -> None:
    clock = ManualClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add_after("late", 60)
    getter = asyncio.ensure_future(queue.get())
    await eventually(lambda: clock.sleepers == 1)
    queue.add("now")
    assert await asyncio.wait_for(getter, 5) == "now"


def test_per_item_backoff_doubles_from_5ms_to_1000s_and_forget_resets_it() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1000.0
    assert limiter.when("b") == 0.005
    assert limiter.retries("a") == 20
    limiter.forget("a")
    assert limiter.when("a") == 0.005


def test_the_overall_bucket_allows_a_burst_then_spaces_by_its_rate() -> None:
    clock = ManualClock()
    bucket = BucketRateLimiter(clock, qps=10, burst=100)
    assert {bucket.when(i) for i in range(100)} == {0.0}
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)
    clock.advance(10)
    assert bucket.when("z") == 0.0


async def test_rate_limited_retries_back_off_until_forgotten() -> None:
    clock = ManualClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock, rate_limiter=default_controller_rate_limiter(clock))
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")
    assert queue.num_requeues("a") == 2
    clock.advance(0.005)
    assert await asyncio.wait_for(queue.get(), 5) == "a"
    queue.forget("a")
    assert queue.num_requeues("a") == 0


async def test_shut_down_drains_queued_keys_then_stops_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    idle: WorkQueue[str] = WorkQueue()
    blocked = asyncio.ensure_future(idle.get())
    await asyncio.sleep(0)
    queue.shut_down()
    idle.shut_down()
    queue.add("refused")
    assert await queue.get() == "a"
    with pytest.raises(ShutDown):
        await queue.get()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(blocked, 5)


async def cancel_as_a_key_arrives(yields: int) -> None:
    clock = ManualClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add_after("late", 60)
    getter = asyncio.ensure_future(queue.get())
    await eventually(lambda: clock.sleepers == 1)
    queue.add("now")
    for _ in range(yields):
        await asyncio.sleep(0)
    if getter.cancel():
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(getter, 5)


async def test_a_worker_cancelled_as_a_key_arrives_stays_cancelled() -> None:
    for yields in range(8):
        await cancel_as_a_key_arrives(yields)
