"""Waiting for any process to end, child or not, through a pidfd."""

from __future__ import annotations

import asyncio
import os


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
