"""Replaying a recorded client byte stream against our server, by turns (not by time)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from cri.streaming.spdy.frames import DataFrame, Frame, SynReply, SynStream, header_value
from cri.streaming.spdy.parser import FrameParser
from tests.streaming.wire import CLIENT_TURN, TIMEOUT, count_progress, progress_key


@dataclass
class ServerFrames:
    key: Callable[[object], tuple[int, int] | None]
    frames: list[object] = field(default_factory=list)
    closed: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, items: list[object]) -> None:
        async with self.changed:
            self.frames.extend(items)
            self.changed.notify_all()

    async def close(self) -> None:
        async with self.changed:
            self.closed = True
            self.changed.notify_all()

    async def wait_for(self, count: int, ready: Callable[[list[object]], bool]) -> bool:
        """True once the server made ``count`` steps (and ``ready`` holds); False if it closed first."""

        def done() -> bool:
            return self.progress() >= count and ready(self.frames)

        async with asyncio.timeout(TIMEOUT), self.changed:
            await self.changed.wait_for(lambda: done() or self.closed)
        return done()

    def progress(self) -> int:
        return count_progress(
            [CLIENT_TURN if frame is CLIENT_TURN else self.key(frame) for frame in self.frames]
        )

    async def client_turn(self) -> None:
        await self.add([CLIENT_TURN])


async def replay_by_turns(
    client_frames: list[bytes],
    thresholds: list[int],
    *,
    send: Callable[[bytes], Awaitable[None]],
    read_frames: Callable[[], Awaitable[list[object] | None]],
    key: Callable[[object], tuple[int, int] | None],
    gates: dict[int, Callable[[list[object]], bool]] | None = None,
) -> list[object]:
    """Send client frame i once the server made ``thresholds[i]`` steps (and passed ``gates[i]``)."""
    server = ServerFrames(key=key)

    async def pump() -> None:
        try:
            while (items := await read_frames()) is not None:
                await server.add(items)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await server.close()

    reader = asyncio.create_task(pump())
    try:
        for index, (frame, threshold) in enumerate(zip(client_frames, thresholds, strict=True)):
            ready = (gates or {}).get(index, lambda frames: True)
            if not await server.wait_for(threshold, ready):
                break
            with contextlib.suppress(ConnectionError):
                await send(frame)
            await server.client_turn()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.shield(reader)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return [frame for frame in server.frames if frame is not CLIENT_TURN]


def spdy_progress_key(frame: object) -> tuple[int, int] | None:
    if isinstance(frame, DataFrame):
        return progress_key(data=True, stream=frame.stream_id, fin=frame.fin)
    return None


def spdy_data_contains(needle: bytes) -> Callable[[list[object]], bool]:
    def ready(frames: list[object]) -> bool:
        return needle in b"".join(frame.data for frame in frames if isinstance(frame, DataFrame))

    return ready


def spdy_frame_reader(read: Callable[[], Awaitable[bytes]]) -> Callable[[], Awaitable[list[object] | None]]:
    parser = FrameParser()

    async def read_frames() -> list[object] | None:
        data = await read()
        if not data:
            return None
        return list(parser.feed(data))

    return read_frames


@dataclass
class SpdyOutcome:
    replied: set[int]
    data: dict[int, bytes]
    fin: set[int]


def summarize_spdy(frames: Sequence[object]) -> SpdyOutcome:
    data: dict[int, bytes] = defaultdict(bytes)
    replied, fin = set(), set()
    for frame in frames:
        if isinstance(frame, SynReply):
            replied.add(frame.stream_id)
        elif isinstance(frame, DataFrame):
            data[frame.stream_id] += frame.data
            if frame.fin:
                fin.add(frame.stream_id)
    return SpdyOutcome(replied=replied, data=dict(data), fin=fin)


def recorded_spdy(capture: dict[str, object], direction: str) -> list[Frame]:
    """The recording's frames in one direction, decoded by our own parser."""
    events = capture["events"]
    assert isinstance(events, list)
    raw = b"".join(base64.b64decode(e["data_b64"]) for e in events if e["dir"] == direction)
    return FrameParser().feed(raw.partition(b"\r\n\r\n")[2])


def stream_types(client_frames: list[Frame]) -> dict[int, str]:
    return {
        frame.stream_id: header_value(frame.headers, "streamtype") or ""
        for frame in client_frames
        if isinstance(frame, SynStream)
    }
