from __future__ import annotations

import asyncio

import pytest

from shims.oci.singleflight import SingleFlight


async def test_concurrent_callers_share_one_run() -> None:
    flights: SingleFlight[int] = SingleFlight()
    started, release = asyncio.Event(), asyncio.Event()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()
        return 42

    callers = [asyncio.create_task(flights.run("k", work)) for _ in range(3)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*callers) == [42, 42, 42]
    assert runs == 1
    assert not flights.running("k")


async def test_one_cancelled_caller_does_not_cancel_the_others() -> None:
    flights: SingleFlight[str] = SingleFlight()
    started, release = asyncio.Event(), asyncio.Event()

    async def work() -> str:
        started.set()
        await release.wait()
        return "done"

    first = asyncio.create_task(flights.run("k", work))
    second = asyncio.create_task(flights.run("k", work))
    await started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert await second == "done"


async def test_when_the_last_caller_leaves_the_work_is_cancelled_and_cleaned_up() -> None:
    flights: SingleFlight[None] = SingleFlight()
    started, cleaned = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    caller = asyncio.create_task(flights.run("k", work))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert cleaned.is_set()
    assert not flights.running("k")


async def test_a_failure_reaches_every_caller() -> None:
    flights: SingleFlight[None] = SingleFlight()

    async def work() -> None:
        raise ValueError("boom")

    results = await asyncio.gather(flights.run("k", work), flights.run("k", work), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
