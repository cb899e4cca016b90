"""A CNI plugin that never answers, and what the tests check of it: none of its processes live on."""

from __future__ import annotations

import asyncio
from pathlib import Path

HANGING_PLUGIN = """#!/bin/sh
echo $$ >> {pids}
sleep 300 &
echo $! >> {pids}
wait
"""
"""Appends its own pid and its child's to the file ``pids``, then waits for the child."""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def until_gone(pids: list[int], *, polls: int = 200) -> list[int]:
    """The processes among ``pids`` still alive after waiting up to ``polls`` times 10 ms for them to end."""
    alive = pids
    for _ in range(polls):
        alive = [pid for pid in alive if _alive(pid)]
        if not alive:
            break
        await asyncio.sleep(0.01)
    return alive
