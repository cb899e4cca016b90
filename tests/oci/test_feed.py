from __future__ import annotations

import asyncio

import pytest

from cri.errors import Cancelled
from shims.oci.feed import ChunkFeed


async def test_chunks_are_read_back_in_order_as_the_writer_puts_them() -> None:
    feed = ChunkFeed(max_bytes=2)

    def read_in_threes() -> bytes:
        parts = []
        while part := feed.read1(3):
            assert len(part) <= 3
            parts.append(part)
        return b"".join(parts)

    reader = asyncio.create_task(asyncio.to_thread(read_in_threes))
    for chunk in (b"ab", b"cdef", b"g", b"hijklmno"):
        await feed.put(chunk)
    await feed.end()
    assert await reader == b"abcdefghijklmno"


async def test_abort_makes_a_waiting_reader_raise() -> None:
    feed = ChunkFeed()
    reader = asyncio.create_task(asyncio.to_thread(feed.read1, 10))
    feed.abort()
    with pytest.raises(Cancelled):
        await reader


async def test_a_full_feed_does_not_block_once_the_reader_is_gone() -> None:
    feed = ChunkFeed(max_bytes=1)
    await feed.put(b"first")
    feed.reader_gone()
    await asyncio.wait_for(feed.put(b"second"), timeout=10)


async def test_read1_hands_over_whole_chunks_and_an_empty_end() -> None:
    feed = ChunkFeed()
    await feed.put(b"abc")
    await feed.put(b"")
    await feed.put(b"defg")
    await feed.end()
    assert [feed.read1(), feed.read1(2), feed.read1(8), feed.read1(), feed.read1()] == [
        b"abc", b"de", b"fg", b"", b"",
    ]  # fmt: skip


async def test_a_full_feed_holds_the_writer_until_the_reader_takes_a_chunk() -> None:
    feed = ChunkFeed(max_bytes=1)
    await feed.put(b"first")
    second = asyncio.create_task(feed.put(b"second"))
    await asyncio.sleep(0)
    assert not second.done()
    assert await asyncio.to_thread(feed.read1) == b"first"
    await asyncio.wait_for(second, timeout=10)
    assert await asyncio.to_thread(feed.read1) == b"second"


async def test_abort_releases_a_writer_waiting_on_a_full_feed() -> None:
    feed = ChunkFeed(max_bytes=1)
    await feed.put(b"first")
    second = asyncio.create_task(feed.put(b"second"))
    await asyncio.sleep(0)
    feed.abort()
    await asyncio.wait_for(second, timeout=10)
