"""Test-side wire helpers: a raw client connection, WebSocket frames, and the recorded captures."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
TIMEOUT = 15.0


def load_capture(name: str) -> dict[str, object]:
    """A recorded session of the project's test data (tests/captures, origin in its README)."""
    data: dict[str, object] = json.loads((CAPTURES / f"{name}.json").read_text())
    return data


def client_bytes(capture: dict[str, object]) -> bytes:
    events = capture["events"]
    assert isinstance(events, list)
    return b"".join(base64.b64decode(e["data_b64"]) for e in events if e["dir"] == "c2s")


def rewrite_head(raw: bytes, *, token: str, host: str) -> tuple[bytes, bytes]:
    """(request head with our token and Host, the bytes after the head unchanged)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    lines[0] = lines[0].replace(b"TOKEN", token.encode())
    lines = [b"Host: " + host.encode() if line.lower().startswith(b"host:") else line for line in lines]
    return b"\r\n".join(lines) + b"\r\n\r\n", rest


@dataclass
class Response:
    status_line: str
    headers: dict[str, str]


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, base_url: str) -> RawClient:
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def request(self, head: bytes) -> Response:
        self.writer.write(head)
        await self.writer.drain()
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        lines = raw.decode().split("\r\n")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return Response(status_line=lines[0], headers=headers)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


@dataclass
class WsFrame:
    opcode: int
    payload: bytes


async def read_ws_frame(reader: asyncio.StreamReader) -> WsFrame | None:
    try:
        first, second = await asyncio.wait_for(reader.readexactly(2), TIMEOUT)
    except asyncio.IncompleteReadError:
        return None
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack(">H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack(">Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if second & 0x80 else b""
    payload = await reader.readexactly(length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return WsFrame(opcode=first & 0x0F, payload=payload)


def split_ws_frames(raw: bytes) -> list[bytes]:
    """Cut a client byte stream into whole WebSocket frames (bytes unchanged)."""
    frames = []
    offset = 0
    while offset + 2 <= len(raw):
        second = raw[offset + 1]
        length, header = second & 0x7F, 2
        if length == 126:
            (length,) = struct.unpack_from(">H", raw, offset + 2)
            header = 4
        elif length == 127:
            (length,) = struct.unpack_from(">Q", raw, offset + 2)
            header = 10
        header += 4 if second & 0x80 else 0
        end = offset + header + length
        if end > len(raw):
            break
        frames.append(raw[offset:end])
        offset = end
    return frames


def split_spdy_frames(raw: bytes) -> list[bytes]:
    """Cut a SPDY byte stream into whole frames (bytes unchanged; a cut-off tail is dropped)."""
    frames = []
    offset = 0
    while offset + 8 <= len(raw):
        (length,) = struct.unpack_from(">I", raw, offset + 4)
        end = offset + 8 + (length & 0xFFFFFF)
        if end > len(raw):
            break
        frames.append(raw[offset:end])
        offset = end
    return frames


def progress_key(*, data: bool, stream: int | None, fin: bool) -> tuple[int, int] | None:
    """Identifies a run of output: consecutive data frames of one stream count as one step.

    Replays wait for the server's progress in these steps, so that how output happens to be
    split into frames does not matter.
    """
    return (1, stream or 0) if data and not fin else None


CLIENT_TURN = (-1, -1)


def count_progress(keys: list[tuple[int, int] | None]) -> int:
    """Steps in a server frame sequence; CLIENT_TURN marks where the client sent something."""
    steps, previous = 0, None
    for key in keys:
        if key == CLIENT_TURN:
            previous = None
            continue
        if key is None or key != previous:
            steps += 1
        previous = key
    return steps


def server_frame_counts_before_client_frames(capture: dict[str, object], layer: str) -> list[int]:
    """For each client frame: how many server progress steps the recording showed before it."""
    frames = capture["frames"]
    assert isinstance(frames, list)
    counts: list[int] = []
    keys: list[tuple[int, int] | None] = []
    for frame in frames:
        if frame.get("layer") != layer or frame.get("type") == "INCOMPLETE":
            continue
        if frame["dir"] == "s2c":
            keys.append(_recorded_key(frame))
        else:
            counts.append(count_progress(keys))
            keys.append(CLIENT_TURN)
    return counts


def _recorded_key(frame: dict[str, object]) -> tuple[int, int] | None:
    if frame.get("layer") == "spdy":
        flags = frame.get("flags") or 0
        assert isinstance(flags, int)
        stream = frame.get("stream")
        assert stream is None or isinstance(stream, int)
        return progress_key(data=frame.get("type") == "DATA", stream=stream, fin=bool(flags & 1))
    channel = frame.get("channel")
    assert channel is None or isinstance(channel, int)
    return progress_key(data=frame.get("opcode") in ("binary", "text"), stream=channel, fin=False)
