"""SPDY port-forward with concurrent connections (what crictl and kubectl do by default)."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from urllib.parse import urlsplit

from cri.streaming.server import StreamingServer
from cri.streaming.spdy.frames import DataFrame, GoAway, SynReply, SynStream
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from cri.streaming.types import PortForwardSpec
from tests.streaming.host_runtime import HostRuntime
from tests.streaming.wire import RawClient

CHUNK = 32 * 1024


async def open_port_forward(server: StreamingServer, ports: tuple[int, ...]) -> RawClient:
    url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=ports))
    client = await RawClient.connect(server.base_url)
    response = await client.request(
        f"POST {urlsplit(url).path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: Upgrade\r\n"
        "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n".encode()
    )
    assert response.headers["x-stream-protocol-version"] == "portforward.k8s.io"
    return client


def pair(request_id: int, port: int) -> list[SynStream]:
    base = 2 * request_id * 2 + 1
    return [
        SynStream(
            stream_id=base,
            headers=(("streamtype", "error"), ("port", str(port)), ("requestid", str(request_id))),
        ),
        SynStream(
            stream_id=base + 2,
            headers=(("requestid", str(request_id)), ("streamtype", "data"), ("port", str(port))),
        ),
    ]


async def test_two_concurrent_connections_10mb_each_way(
    server: StreamingServer, runtime: HostRuntime, echo_port: int
) -> None:
    runtime.port_map = {8080: echo_port}
    client = await open_port_forward(server, (8080,))
    writer = FrameWriter()
    payloads = {3: os.urandom(10 * 1024 * 1024), 7: os.urandom(10 * 1024 * 1024)}
    received: dict[int, bytearray] = defaultdict(bytearray)
    finished: set[int] = set()

    async def send() -> None:
        await client.send(b"".join(writer.encode(frame) for frame in pair(0, 8080) + pair(1, 8080)))
        for offset in range(0, len(payloads[3]), CHUNK):
            for stream_id, payload in payloads.items():
                await client.send(
                    writer.encode(DataFrame(stream_id=stream_id, data=payload[offset : offset + CHUNK]))
                )
        for stream_id in payloads:
            await client.send(writer.encode(DataFrame(stream_id=stream_id, data=b"", fin=True)))

    async def receive() -> None:
        parser = FrameParser()
        while finished != {1, 3, 5, 7}:
            data = await client.reader.read(65536)
            assert data, "the server closed early"
            for frame in parser.feed(data):
                if isinstance(frame, DataFrame):
                    received[frame.stream_id] += frame.data
                    if frame.fin:
                        finished.add(frame.stream_id)

    async with asyncio.timeout(60):
        await asyncio.gather(send(), receive())
        await client.send(writer.encode(GoAway(last_good_stream_id=0)))
        tail = FrameParser().feed(await client.reader.read())  # to EOF: the server ends the session
    assert tail == [GoAway(last_good_stream_id=7)]
    await client.close()
    assert {stream_id: bytes(received[stream_id]) for stream_id in payloads} == payloads
    assert received[1] == received[5] == b""


async def test_a_refused_dial_is_reported_on_the_error_stream(server: StreamingServer) -> None:
    client = await open_port_forward(server, (80, 81))
    writer = FrameWriter()
    await client.send(b"".join(writer.encode(frame) for frame in pair(0, 81) + pair(1, 82)))
    parser, frames = FrameParser(), list[object]()
    async with asyncio.timeout(15):
        while len([f for f in frames if isinstance(f, DataFrame) and f.fin]) < 4:
            frames += parser.feed(await client.reader.read(65536))
    await client.close()
    errors = {f.stream_id: f.data for f in frames if isinstance(f, DataFrame) and f.data}
    assert SynReply(stream_id=1) in frames
    assert b"error forwarding port 81 to pod" in errors[1] and b"refused" in errors[1].lower()
    assert errors[5] == b"port 82 was not requested in the PortForward call (requested: [80, 81])"
