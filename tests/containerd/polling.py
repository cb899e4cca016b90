"""Polling a condition with a bound, for what announces itself only in a file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], *, bound_s: float = 10.0) -> None:
    """Poll ``condition`` until it holds, for at most ``bound_s``."""
    async with asyncio.timeout(bound_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)
