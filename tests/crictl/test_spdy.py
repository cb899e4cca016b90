"""The SPDY/3.1 client against containerd's recorded side of real crictl sessions (tests/captures).

A replay server answers the upgrade with containerd's recorded bytes and sends each recorded
server frame once the client has sent as many frames as crictl had sent before it.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cri.streaming.spdy.frames import SynStream
from cri.streaming.spdy.parser import HEADER_SIZE, FrameParser
from cri.streaming.types import ExecSpec
from tests.crictl import scenario
from tests.crictl.conftest import Crictl
from tests.streaming.wire import load_capture


def _stream(capture: dict[str, object], direction: str) -> bytes:
    events = capture["events"]
    assert isinstance(events, list)
    return b"".join(base64.b64decode(e["data_b64"]) for e in events if e["dir"] == direction)


def _raw_frames(payload: bytes) -> list[bytes]:
    frames, offset = [], 0
    while offset + HEADER_SIZE <= len(payload):
        length = int.from_bytes(payload[offset + 5 : offset + 8], "big")
        frames.append(payload[offset : offset + HEADER_SIZE + length])
        offset += HEADER_SIZE + length
    return frames


@dataclass
class Replay:
    """containerd's half of one recorded session, sent by turns."""

    head: bytes
    turns: list[tuple[int, bytes]]  # (client frames seen before it, server frame)
    client_head: bytes = b""
    client_frames: list[object] = field(default_factory=list)

    @classmethod
    def of(cls, name: str) -> Replay:
        capture = load_capture(name)
        s2c = _stream(capture, "s2c")
        split = s2c.index(b"\r\n\r\n") + 4
        frames: Any = capture["frames"]
        recorded = [f for f in frames if f["layer"] == "spdy"]
        raw = iter(_raw_frames(s2c[split:]))
        turns, sent = [], 0
        for frame in recorded:
            if frame["dir"] == "c2s":
                sent += 1
            elif frame["type"] != "INCOMPLETE":
                turns.append((sent, next(raw)))
        return cls(head=s2c[:split], turns=turns)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.client_head = await reader.readuntil(b"\r\n\r\n")
        writer.write(self.head)
        frames = FrameParser()
        for needed, raw in self.turns:
            while len(self.client_frames) < needed:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                self.client_frames += frames.feed(chunk)
            writer.write(raw)
            await writer.drain()
        writer.close()


async def _replaying(crictl: Crictl, replay: Replay) -> asyncio.Server:
    server = await asyncio.start_server(replay.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def exec_url(spec: ExecSpec) -> str:
        return f"http://127.0.0.1:{port}/exec/TOKEN"

    crictl.runtime.exec = exec_url  # type: ignore[method-assign]
    return server


async def test_exec_over_spdy_as_crictl_against_containerd(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    replay = Replay.of("exec-spdy")
    server = await _replaying(crictl, replay)
    async with server:
        result = await crictl("exec", state.server, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.code, result.out) == (1, "out\n")
    assert result.err.startswith("err\n")
    assert f"execing command in container {state.server}: command terminated with exit code 3" in result.err
    head = replay.client_head.decode()
    assert head.startswith("POST /exec/TOKEN HTTP/1.1\r\n") and "Upgrade: SPDY/3.1\r\n" in head
    offered = [
        line.split(": ")[1] for line in head.split("\r\n") if line.startswith("X-Stream-Protocol-Version")
    ]
    assert offered == [
        "v5.channel.k8s.io",
        "v4.channel.k8s.io",
        "v3.channel.k8s.io",
        "v2.channel.k8s.io",
        "channel.k8s.io",
    ]
    opened = [(f.stream_id, f.headers) for f in replay.client_frames if isinstance(f, SynStream)]
    assert opened == [
        (1, (("streamtype", "error"),)),
        (3, (("streamtype", "stdout"),)),
        (5, (("streamtype", "stderr"),)),
    ]


async def test_a_refused_upgrade_is_reported(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\ncontainer not found")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def exec_url(spec: ExecSpec) -> str:
        return f"http://127.0.0.1:{port}/exec/x"

    crictl.runtime.exec = exec_url  # type: ignore[method-assign]
    async with server:
        result = await crictl("exec", state.server, "true")
    assert result.code == 1
    assert "unable to upgrade connection: container not found" in result.err
