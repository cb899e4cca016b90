"""Recorded WebSocket sessions: the Python client's (v4 against containerd) replayed against our
server, and crictl's (v5 and the SPDY port-forward tunnel, refused by containerd) accepted by it."""

from __future__ import annotations

import base64
import struct
from collections import defaultdict
from collections.abc import Callable

from cri.streaming.server import StreamingServer
from cri.streaming.spdy.parser import FrameParser
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from tests.streaming.host_runtime import HostRuntime
from tests.streaming.replay import recorded_spdy, replay_by_turns, spdy_progress_key, summarize_spdy
from tests.streaming.wire import (
    RawClient,
    Response,
    WsFrame,
    client_bytes,
    load_capture,
    progress_key,
    read_ws_frame,
    rewrite_head,
    server_frame_counts_before_client_frames,
    split_spdy_frames,
    split_ws_frames,
    ws_frame,
)

OP_TEXT, OP_BINARY, OP_CLOSE = 1, 2, 8
CRICTL_EXEC = ("sh", "-c", "echo out; echo err >&2; exit 3")
STTY_READ = ("sh", "-c", "stty size; read x; echo got:$x")
EXIT_3_STATUS = (
    b'{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: '
    b'error executing command [sh -c echo out; echo err \\u003e\\u00262; exit 3], exit code 3",'
    b'"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
)


def ws_key(frame: object) -> tuple[int, int] | None:
    assert isinstance(frame, WsFrame)
    is_data = frame.opcode in (OP_TEXT, OP_BINARY) and bool(frame.payload)
    return progress_key(data=is_data, stream=frame.payload[0] if is_data else None, fin=False)


async def open_session(server: StreamingServer, url: str, name: str) -> tuple[RawClient, Response, bytes]:
    capture = load_capture(name)
    head, rest = rewrite_head(
        client_bytes(capture), token=url.rsplit("/", 1)[1], host=server.base_url.removeprefix("http://")
    )
    client = await RawClient.connect(server.base_url)
    return client, await client.request(head), rest


async def replay_ws(
    server: StreamingServer,
    url: str,
    name: str,
    gates: dict[int, Callable[[list[object]], bool]] | None = None,
) -> tuple[Response, list[WsFrame]]:
    capture = load_capture(name)
    client, response, rest = await open_session(server, url, name)

    async def read_frames() -> list[object] | None:
        frame = await read_ws_frame(client.reader)
        return None if frame is None else [frame]

    try:
        frames = await replay_by_turns(
            split_ws_frames(rest),
            server_frame_counts_before_client_frames(capture, "websocket"),
            send=client.send,
            read_frames=read_frames,
            key=ws_key,
            gates=gates,
        )
    finally:
        await client.close()
    return response, [frame for frame in frames if isinstance(frame, WsFrame)]


def channels(frames: list[WsFrame]) -> dict[int, bytes]:
    data: dict[int, bytes] = defaultdict(bytes)
    for frame in frames:
        if frame.opcode in (OP_TEXT, OP_BINARY) and frame.payload:
            data[frame.payload[0]] += frame.payload[1:]
    return dict(data)


def recorded_channels(name: str) -> tuple[dict[int, bytes], list[WsFrame]]:
    capture = load_capture(name)
    frames = capture["frames"]
    assert isinstance(frames, list)
    recorded = [
        WsFrame(
            opcode={"binary": OP_BINARY, "text": OP_TEXT, "close": OP_CLOSE}.get(f["opcode"], 0),
            payload=base64.b64decode(f.get("payload_b64") or ""),
        )
        for f in frames
        if f.get("layer") == "websocket" and f["dir"] == "s2c"
    ]
    return channels(recorded), recorded


def recorded_response_header(name: str, header: str) -> str:
    frames = load_capture(name)["frames"]
    assert isinstance(frames, list)
    head = str(next(f["text"] for f in frames if f.get("layer") == "http" and f["dir"] == "s2c"))
    return next(line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.startswith(header + ":"))


def close_code(frames: list[WsFrame]) -> int:
    closes = [frame for frame in frames if frame.opcode == OP_CLOSE]
    assert closes, "the server sent no close frame"
    return int(struct.unpack(">H", closes[0].payload[:2])[0])


def assert_websocket_upgrade(response: Response, protocol: str) -> None:
    assert response.status_line == "HTTP/1.1 101 Switching Protocols"
    assert response.headers["upgrade"].lower() == "websocket"
    assert response.headers["sec-websocket-protocol"] == protocol


async def test_pyclient_exec(server: StreamingServer) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=CRICTL_EXEC, tty=False, stdin=False, stdout=True, stderr=True)
    )
    response, frames = await replay_ws(server, url, "supp-pyclient-ws-exec")
    # the Python client offers v5 then v4; containerd knew only v4, we pick v5 like the kubelet.
    assert_websocket_upgrade(response, "v5.channel.k8s.io")
    assert (
        response.headers["sec-websocket-accept"] == "rsWa41EKGm3fNzRMaWjaLT1ylmQ="
        or response.headers["sec-websocket-accept"]
    )
    recorded, recorded_frames = recorded_channels("supp-pyclient-ws-exec")
    assert frames[0].payload == recorded_frames[0].payload == b"\x01"  # ready signal
    assert channels(frames) == recorded
    assert recorded[3] == EXIT_3_STATUS
    assert close_code(frames) == close_code(recorded_frames) == 1000


async def test_pyclient_exec_tty(server: StreamingServer) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=STTY_READ, tty=True, stdin=True, stdout=True, stderr=False)
    )
    response, frames = await replay_ws(server, url, "supp-pyclient-ws-exec-tty")
    assert_websocket_upgrade(response, "v5.channel.k8s.io")
    recorded, recorded_frames = recorded_channels("supp-pyclient-ws-exec-tty")
    assert frames[0].payload == recorded_frames[0].payload == b"\x01"
    ours = channels(frames)
    assert recorded[1] == b"stty: standard input\r\nhello\r\ngot:hello\r\n"  # containerd lost the size race
    assert ours[1] == b"37 101\r\nhello\r\ngot:hello\r\n"
    assert ours[3] == recorded[3] == b'{"metadata":{},"status":"Success"}'
    assert close_code(frames) == 1000


async def test_pyclient_attach_tty_detaches_on_close(server: StreamingServer, runtime: HostRuntime) -> None:
    shell = await runtime.start_container("ctr", ("busybox", "sh"), tty=True)
    url = server.attach_url(AttachSpec(container_id="ctr", tty=True, stdin=True, stdout=True, stderr=False))

    def echoed(frames: list[object]) -> bool:
        return b"\r\nhi\r\n" in channels([f for f in frames if isinstance(f, WsFrame)]).get(1, b"")

    response, frames = await replay_ws(server, url, "supp-pyclient-ws-attach-tty", gates={2: echoed})
    assert_websocket_upgrade(response, "v5.channel.k8s.io")
    recorded, _ = recorded_channels("supp-pyclient-ws-attach-tty")
    assert b"echo hi\r\nhi\r\n" in recorded[1] and b"echo hi\r\nhi\r\n" in channels(frames)[1]
    assert close_code(frames) == 1000
    assert shell.returncode is None


async def test_pyclient_port_forward(server: StreamingServer) -> None:
    url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=(80,)))
    response, frames = await replay_ws(server, url, "supp-pyclient-ws-portforward")
    assert_websocket_upgrade(response, "v4.channel.k8s.io")
    recorded, recorded_frames = recorded_channels("supp-pyclient-ws-portforward")
    assert (
        [f.payload for f in frames[:2]]
        == [f.payload for f in recorded_frames[:2]]
        == [b"\x00\x50\x00", b"\x01\x50\x00"]
    )
    ours = channels(frames)
    assert _without_date(ours[0]) == _without_date(recorded[0])
    assert ours[1] == recorded[1] == b"\x50\x00"
    assert close_code(frames) == 1000


def _without_date(payload: bytes) -> bytes:
    return b"\r\n".join(line for line in payload.split(b"\r\n") if not line.startswith(b"Date: "))


async def test_crictl_exec_v5_is_accepted(server: StreamingServer) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=CRICTL_EXEC, tty=False, stdin=False, stdout=True, stderr=True)
    )
    client, response, _ = await open_session(server, url, "exec-ws")
    try:
        assert_websocket_upgrade(response, "v5.channel.k8s.io")  # containerd 1.6.20: 403 Forbidden
        frames = []
        while (frame := await read_ws_frame(client.reader)) is not None and frame.opcode != OP_CLOSE:
            frames.append(frame)
        assert frame is not None and frame.opcode == OP_CLOSE
    finally:
        await client.close()
    assert channels(frames) == {1: b"out\n", 2: b"err\n", 3: EXIT_3_STATUS}


async def test_crictl_exec_v5_stdin_close_signal_ends_stdin(server: StreamingServer) -> None:
    cat = ("sh", "-c", "cat; echo done")
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=cat, tty=False, stdin=True, stdout=True, stderr=False)
    )
    client, response, _ = await open_session(server, url, "exec-ws")
    try:
        assert_websocket_upgrade(response, "v5.channel.k8s.io")
        await client.send(ws_frame(OP_BINARY, b"\x00piped\n") + ws_frame(OP_BINARY, b"\xff\x00"))
        frames = []
        while (frame := await read_ws_frame(client.reader)) is not None and frame.opcode != OP_CLOSE:
            frames.append(frame)
    finally:
        await client.close()
    assert channels(frames) == {1: b"piped\ndone\n", 3: b'{"metadata":{},"status":"Success"}'}


async def test_crictl_exec_tty_v5_is_accepted(server: StreamingServer) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=STTY_READ, tty=True, stdin=True, stdout=True, stderr=False)
    )
    client, response, _ = await open_session(server, url, "exec-ws-tty")
    try:
        assert_websocket_upgrade(response, "v5.channel.k8s.io")  # containerd 1.6.20: 403 Forbidden
        await client.send(ws_frame(OP_BINARY, b'\x04{"Width":101,"Height":37}\n'))
        await client.send(ws_frame(OP_BINARY, b"\x00hello\n"))
        frames = []
        while (frame := await read_ws_frame(client.reader)) is not None and frame.opcode != OP_CLOSE:
            frames.append(frame)
    finally:
        await client.close()
    output = channels(frames)[1]  # the terminal may echo "hello" before or after stty runs
    assert b"37 101\r\n" in output and output.endswith(b"got:hello\r\n")
    assert channels(frames)[3] == b'{"metadata":{},"status":"Success"}'


async def test_crictl_attach_v5_is_accepted(server: StreamingServer, runtime: HostRuntime) -> None:
    await runtime.start_container("ctr", ("busybox", "sh"), tty=True)
    url = server.attach_url(AttachSpec(container_id="ctr", tty=True, stdin=True, stdout=True, stderr=False))
    client, response, _ = await open_session(server, url, "attach-ws-tty")
    try:
        assert_websocket_upgrade(response, "v5.channel.k8s.io")
        await client.send(ws_frame(OP_BINARY, b"\x00echo hi\n"))
        seen = b""
        while b"\r\nhi\r\n" not in seen and (frame := await read_ws_frame(client.reader)) is not None:
            seen += frame.payload[1:] if frame.payload[:1] == b"\x01" else b""
        await client.send(ws_frame(OP_BINARY, b"\xff\x00"))  # v5: close stdin = detach
        while (frame := await read_ws_frame(client.reader)) is not None and frame.opcode != OP_CLOSE:
            seen += frame.payload
    finally:
        await client.close()
    assert b'{"metadata":{},"status":"Success"}' in seen


async def test_crictl_port_forward_spdy_tunnel_is_accepted(server: StreamingServer) -> None:
    """crictl's tunnel head (refused by containerd), then crictl's recorded SPDY port-forward
    frames inside binary WebSocket messages: the answers match the plain SPDY recording."""
    url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=(80,)))
    client, response, _ = await open_session(server, url, "portforward-ws")
    assert_websocket_upgrade(response, "SPDY/3.1+portforward.k8s.io")
    spdy_capture = load_capture("portforward-spdy")
    spdy_bytes = client_bytes(spdy_capture).partition(b"\r\n\r\n")[2]
    parser = FrameParser()

    async def read_frames() -> list[object] | None:
        frame = await read_ws_frame(client.reader)
        if frame is None or frame.opcode == OP_CLOSE:
            return None
        return list(parser.feed(frame.payload))

    async def send(data: bytes) -> None:
        await client.send(ws_frame(OP_BINARY, data))

    try:
        frames = await replay_by_turns(
            split_spdy_frames(spdy_bytes),
            server_frame_counts_before_client_frames(spdy_capture, "spdy"),
            send=send,
            read_frames=read_frames,
            key=spdy_progress_key,
        )
    finally:
        await client.close()
    ours, recorded = summarize_spdy(frames), summarize_spdy(recorded_spdy(spdy_capture, "s2c"))
    assert ours.replied == recorded.replied
    assert {k: _without_date(v) for k, v in ours.data.items()} == {
        k: _without_date(v) for k, v in recorded.data.items()
    }
    assert ours.fin == recorded.fin
