"""glibc malloc settings for a long-running kubelet: fewer arenas, free pages handed back to the kernel.

glibc gives each thread that allocates its own arena (up to 8 per core); the kubelet's gRPC and
worker threads allocate little, so two arenas hold it all with less fragmentation. Freed memory in
the middle of a heap stays resident until ``malloc_trim`` returns its pages, which the kubelet does
now and then. Both are no-ops on a C library without them (e.g. musl).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging

log = logging.getLogger(__name__)
M_ARENA_MAX = -8
ARENAS = 2
TRIM_PERIOD_S = 15.0


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None)


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Call before threads start: arenas already created stay."""
    mallopt = getattr(_libc(), "mallopt", None)
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Returns free heap pages to the kernel; True if any were returned."""
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    return malloc_trim is not None and bool(malloc_trim(0))


async def trim_periodically(period_s: float = TRIM_PERIOD_S) -> None:
    if getattr(_libc(), "malloc_trim", None) is None:
        return
    while True:
        await asyncio.sleep(period_s)
        trim()
