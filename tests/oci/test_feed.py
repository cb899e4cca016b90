from __future__ import annotations

import asyncio

import pytest

from cri.errors import Cancelled
from shims.oci.feed import ChunkFeed


async def test_chunks_are_read_back_as_a_stream_in_any_sizes() -> None:
    feed = ChunkFeed(max_chunks=2)

    def read_in_threes() -> list[bytes]:
        return [feed.read(3) for _ in range(5)] + [feed.read()]

    reader = asyncio.create_task(asyncio.to_thread(read_in_threes))
    for chunk in (b"ab", b"cdef", b"g", b"hijklmno"):
        await feed.put(chunk)
    await feed.end()
    assert await reader == [b"abc", b"def", b"ghi", b"jkl", b"mno", b""]


async def test_abort_makes_a_waiting_reader_raise() -> None:
    feed = ChunkFeed()
    reader = asyncio.create_task(asyncio.to_thread(feed.read, 10))
    feed.abort()
    with pytest.raises(Cancelled):
        await reader


async def test_a_full_feed_does_not_block_once_the_reader_is_gone() -> None:
    feed = ChunkFeed(max_chunks=1)
    await feed.put(b"first")
    feed.reader_gone()
    await asyncio.wait_for(feed.put(b"second"), timeout=10)
