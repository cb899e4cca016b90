"""Bounded polling of a condition on in-process state: the tests' only way to wait for other tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

POLL_INTERVAL_S = 0.005
DEFAULT_BOUND_S = 10.0


async def eventually(condition: Callable[[], bool], *, within_s: float = DEFAULT_BOUND_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        if loop.time() > deadline:
            pytest.fail(
                f"condition not met within {within_s}s: {condition.__code__.co_filename}:"
                f"{condition.__code__.co_firstlineno}"
            )
        await asyncio.sleep(POLL_INTERVAL_S)


async def eventually_true(check: Callable[[], Awaitable[bool]], *, within_s: float = DEFAULT_BOUND_S) -> None:
    """``eventually`` for a condition that has to ask the API."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within_s}s: {check}")
        await asyncio.sleep(POLL_INTERVAL_S)
