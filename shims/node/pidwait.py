"""Waiting for any process to end, child or not, through a pidfd."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable


async def wait_for_pid_exit(pid: int) -> None:
    """Returns when process ``pid`` (not necessarily our child) has ended."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await ended
    finally:
        loop.remove_reader(fd)
        os.close(fd)


class PidWatchers:
    """One task per watched process: when the process ends, its follow-up runs; keyed for lookups."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._tasks

    def follow(self, key: str, pid: int, then: Callable[[], Awaitable[None]]) -> None:
        """After ``pid`` ends, run ``then``; a key already followed is left as it is."""
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._follow(key, pid, then))

    async def _follow(self, key: str, pid: int, then: Callable[[], Awaitable[None]]) -> None:
        try:
            await wait_for_pid_exit(pid)
            await then()
        finally:
            self._tasks.pop(key, None)

    async def settled(self, key: str, timeout: float) -> None:
        """Wait (bounded) until the follow-up of ``key``, if any, has finished."""
        task = self._tasks.get(key)
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
