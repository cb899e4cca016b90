"""Older and alternative channel protocols, resize decoding, and hostile WebSocket clients."""

from __future__ import annotations

import base64
import contextlib

import aiohttp
import pytest

from cri.streaming.backend import TerminalSize
from cri.streaming.remotecommand import ResizeDecoder
from cri.streaming.server import StreamingServer
from cri.streaming.spdy.frames import DataFrame, SynStream
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from cri.streaming.types import ExecSpec
from tests.streaming.wire import RawClient

FAIL_WITH_OUTPUT = ("sh", "-c", "echo out; exit 2")


def exec_spec(cmd: tuple[str, ...] = FAIL_WITH_OUTPUT, *, stdin: bool = False) -> ExecSpec:
    return ExecSpec(container_id="c", cmd=cmd, tty=False, stdin=stdin, stdout=True, stderr=True)


async def websocket_session(url: str, protocol: str, *sends: str | bytes) -> list[str | bytes]:
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=(protocol,)) as ws:
        assert ws.protocol == protocol
        for message in sends:
            await (ws.send_str(message) if isinstance(message, str) else ws.send_bytes(message))
        return [message.data async for message in ws]


async def test_base64_channel_protocol(server: StreamingServer) -> None:
    url = server.exec_url(exec_spec(("sh", "-c", "read x; echo got:$x"), stdin=True))
    messages = await websocket_session(
        url, "v4.base64.channel.k8s.io", "0" + base64.b64encode(b"hi\n").decode()
    )
    assert messages[0] == "1"  # ready: channel digit, empty data
    decoded = [(m[0], base64.b64decode(m[1:])) for m in messages if isinstance(m, str)]
    assert ("1", b"got:hi\n") in decoded
    assert decoded[-1] == ("3", b'{"metadata":{},"status":"Success"}')


async def test_v1_channel_protocol_reports_errors_as_plain_text(server: StreamingServer) -> None:
    messages = await websocket_session(server.exec_url(exec_spec()), "channel.k8s.io")
    assert b"\x01out\n" in messages
    assert messages[-1] == b"\x03command terminated with non-zero exit code: exit code 2"


async def test_spdy_negotiates_the_best_version_offered(server: StreamingServer) -> None:
    client = await RawClient.connect(server.base_url)
    path = "/" + server.exec_url(exec_spec()).split("/", 3)[3]
    response = await client.request(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        "X-Stream-Protocol-Version: v2.channel.k8s.io\r\n"
        "X-Stream-Protocol-Version: v3.channel.k8s.io\r\n\r\n".encode()
    )
    assert response.headers["x-stream-protocol-version"] == "v3.channel.k8s.io"
    writer = FrameWriter()
    for stream_id, kind in ((1, "error"), (3, "stdout"), (5, "stderr")):
        await client.send(writer.encode(SynStream(stream_id=stream_id, headers=(("streamtype", kind),))))
    parser, frames = FrameParser(), []
    while data := await client.reader.read(65536):
        frames += parser.feed(data)
    await client.close()
    error = b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == 1)
    assert error == b"command terminated with non-zero exit code: exit code 2"


async def test_hostile_websocket_messages_are_ignored(server: StreamingServer) -> None:
    url = server.exec_url(exec_spec(("sh", "-c", "read x; echo got:$x"), stdin=True))
    messages = await websocket_session(
        url, "v5.channel.k8s.io", b"", b"\x09ignored", b"\xff", b"\xff\x07", "\x04{not json", b"\x00ok\n"
    )
    assert b"\x01got:ok\n" in messages


async def test_an_oversized_websocket_message_closes_that_session_only(server: StreamingServer) -> None:
    url = server.exec_url(exec_spec(("sh", "-c", "cat >/dev/null"), stdin=True))
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
        with contextlib.suppress(ConnectionError):
            await ws.send_bytes(b"\x00" + b"x" * (17 * 1024 * 1024))
        async for _ in ws:
            pass
        assert ws.closed
        assert ws.close_code in (aiohttp.WSCloseCode.MESSAGE_TOO_BIG, aiohttp.WSCloseCode.ABNORMAL_CLOSURE)
    messages = await websocket_session(server.exec_url(exec_spec()), "v5.channel.k8s.io")
    assert b"\x01out\n" in messages


@pytest.mark.parametrize(
    ("chunks", "sizes"),
    [
        ([b'{"Width":101,"Height":37}\n'], [(101, 37)]),
        ([b'{"Width": 120, "Height": 40}'], [(120, 40)]),
        ([b'{"Width":1', b'0,"Height":2}\n{"Width":3,"Height":4}\n'], [(10, 2), (3, 4)]),
        ([b'{"Width":-1,"Height":2}\n{"Height":2}\n["x"]\n{"Width":5,"Height":6}'], [(5, 6)]),
    ],
)
def test_resize_messages(chunks: list[bytes], sizes: list[tuple[int, int]]) -> None:
    decoder = ResizeDecoder()
    decoded = [size for chunk in chunks for size in decoder.feed(chunk)]
    assert decoded == [TerminalSize(width=width, height=height) for width, height in sizes]


def test_undecodable_resize_garbage_is_dropped_not_accumulated() -> None:
    decoder = ResizeDecoder()
    assert decoder.feed(b"{" + b"x" * 5000) == []
    assert decoder.feed(b'{"Width":7,"Height":8}') == [TerminalSize(width=7, height=8)]
