"""crictl's recorded SPDY sessions (against containerd 1.6.20) replayed against our server."""

from __future__ import annotations

import asyncio
import json

import pytest

from cri.streaming.server import StreamingServer
from cri.streaming.spdy.frames import GoAway, Ping, RstStream
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from tests.streaming.host_runtime import HostRuntime
from tests.streaming.replay import (
    recorded_spdy,
    replay_by_turns,
    spdy_data_contains,
    spdy_frame_reader,
    spdy_progress_key,
    stream_types,
    summarize_spdy,
)
from tests.streaming.wire import (
    RawClient,
    Response,
    client_bytes,
    load_capture,
    rewrite_head,
    server_frame_counts_before_client_frames,
    split_spdy_frames,
)

CRICTL_EXEC = ("sh", "-c", "echo out; echo err >&2; exit 3")
STTY_READ = ("sh", "-c", "stty size; read x; echo got:$x")
STTY_TWICE = ("sh", "-c", "sleep 1; stty size; read x; stty size; echo got:$x")


async def replay_spdy(
    server: StreamingServer,
    url: str,
    name: str,
    *,
    gate_after: tuple[bytes, bytes] | None = None,
) -> tuple[Response, list[object]]:
    """Replay ``name``; ``gate_after=(sent, shown)``: the frame after the one carrying ``sent``
    waits until the server's output shows ``shown`` (interactive shells answer at their own pace)."""
    capture = load_capture(name)
    head, rest = rewrite_head(
        client_bytes(capture), token=url.rsplit("/", 1)[1], host=server.base_url.removeprefix("http://")
    )
    client = await RawClient.connect(server.base_url)
    try:
        response = await client.request(head)
        client_frames = split_spdy_frames(rest)
        gates = {}
        if gate_after is not None:
            sent_at = next(i for i, frame in enumerate(client_frames) if gate_after[0] in frame)
            gates[sent_at + 1] = spdy_data_contains(gate_after[1])
        frames = await replay_by_turns(
            client_frames,
            server_frame_counts_before_client_frames(capture, "spdy"),
            send=client.send,
            read_frames=spdy_frame_reader(lambda: client.reader.read(65536)),
            key=spdy_progress_key,
            gates=gates,
        )
    finally:
        await client.close()
    return response, frames


def recorded_outcome(name: str) -> tuple[dict[int, str], dict[str, bytes], set[str]]:
    capture = load_capture(name)
    types = stream_types(recorded_spdy(capture, "c2s"))
    recorded = summarize_spdy(recorded_spdy(capture, "s2c"))
    data = {types[stream]: payload for stream, payload in recorded.data.items()}
    return types, data, {types[stream] for stream in recorded.fin}


def by_type(types: dict[int, str], frames: list[object]) -> tuple[dict[str, bytes], set[str], set[str]]:
    ours = summarize_spdy(frames)
    return (
        {types[stream]: payload for stream, payload in ours.data.items()},
        {types[stream] for stream in ours.fin},
        {types[stream] for stream in ours.replied},
    )


def assert_upgraded(response: Response, protocol: str) -> None:
    assert response.status_line == "HTTP/1.1 101 Switching Protocols"
    assert response.headers["upgrade"] == "SPDY/3.1"
    assert response.headers["connection"].lower() == "upgrade"
    assert response.headers["x-stream-protocol-version"] == protocol


async def test_exec_non_tty_matches_containerd(server: StreamingServer) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=CRICTL_EXEC, tty=False, stdin=False, stdout=True, stderr=True)
    )
    response, frames = await replay_spdy(server, url, "exec-spdy")
    assert_upgraded(response, "v4.channel.k8s.io")
    types, recorded, recorded_fin = recorded_outcome("exec-spdy")
    data, fin, replied = by_type(types, frames)
    assert replied == set(types.values()) == {"error", "stdout", "stderr"}
    assert data == recorded
    assert json.loads(data["error"])["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert fin == recorded_fin == {"stdout", "stderr"}
    assert isinstance(frames[-1], GoAway)


async def test_exec_tty_applies_the_first_size_before_the_process_starts(
    server: StreamingServer, runtime: HostRuntime
) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=STTY_READ, tty=True, stdin=True, stdout=True, stderr=False)
    )
    response, frames = await replay_spdy(server, url, "exec-spdy-tty")
    assert_upgraded(response, "v4.channel.k8s.io")
    types, recorded, recorded_fin = recorded_outcome("exec-spdy-tty")
    data, fin, replied = by_type(types, frames)
    assert replied == {"error", "stdin", "stdout", "resize"}
    # containerd lost the first-resize race ("stty: standard input"); we start the process sized.
    assert recorded["stdout"].startswith(b"stty: standard input\r\n")
    assert data["stdout"] == b"37 101\r\n" + recorded["stdout"].removeprefix(b"stty: standard input\r\n")
    assert data["error"] == recorded["error"] == b'{"metadata":{},"status":"Success"}'
    assert fin == recorded_fin == {"stdout"}
    assert [frame.ping_id for frame in frames if isinstance(frame, Ping)] == [1]
    assert {stream for stream in (f.stream_id for f in frames if isinstance(f, RstStream))} <= set(types)


async def test_exec_tty_resizes_reach_the_process(server: StreamingServer) -> None:
    url = server.exec_url(
        ExecSpec(container_id="c", cmd=STTY_TWICE, tty=True, stdin=True, stdout=True, stderr=False)
    )
    response, frames = await replay_spdy(server, url, "exec-spdy-tty-resize")
    assert_upgraded(response, "v4.channel.k8s.io")
    types, recorded, recorded_fin = recorded_outcome("exec-spdy-tty-resize")
    data, fin, _ = by_type(types, frames)
    assert b"37 101\r\n" in recorded["stdout"] and b"40 120\r\n" in recorded["stdout"]
    assert data == recorded
    assert fin == recorded_fin


@pytest.mark.parametrize("name", ["attach-spdy-tty", "attach-spdy-tty-exit"])
async def test_attach_tty(server: StreamingServer, runtime: HostRuntime, name: str) -> None:
    shell = await runtime.start_container("ctr", ("busybox", "sh"), tty=True)
    url = server.attach_url(AttachSpec(container_id="ctr", tty=True, stdin=True, stdout=True, stderr=False))
    response, frames = await replay_spdy(server, url, name, gate_after=(b"echo hi\n", b"\r\nhi\r\n"))
    assert_upgraded(response, "v4.channel.k8s.io")
    types, recorded, recorded_fin = recorded_outcome(name)
    data, fin, replied = by_type(types, frames)
    assert replied == {"error", "stdin", "stdout", "resize"}
    assert b"echo hi\r\nhi\r\n" in recorded["stdout"] and b"echo hi\r\nhi\r\n" in data["stdout"]
    assert data["error"] == recorded["error"] == b'{"metadata":{},"status":"Success"}'
    if name == "attach-spdy-tty":
        assert shell.returncode is None  # detached: the container keeps running
    else:
        assert await asyncio.wait_for(shell.wait(), 10) == 0
        assert fin == recorded_fin == {"stdout"}


async def test_port_forward_two_connections(server: StreamingServer) -> None:
    url = server.port_forward_url(PortForwardSpec(pod_sandbox_id="pod", ports=(80,)))
    response, frames = await replay_spdy(server, url, "portforward-spdy")
    assert_upgraded(response, "portforward.k8s.io")
    capture = load_capture("portforward-spdy")
    recorded = summarize_spdy(recorded_spdy(capture, "s2c"))
    ours = summarize_spdy(frames)
    assert ours.replied == recorded.replied == {1, 3, 5, 7}
    assert set(ours.data) == set(recorded.data)
    for stream, payload in recorded.data.items():
        assert _without_date(ours.data[stream]) == _without_date(payload)
    assert ours.fin == recorded.fin == {1, 3, 5, 7}


def _without_date(payload: bytes) -> bytes:
    """The pod's reply with its ``Date:`` header (which differs between runs) removed."""
    return b"\r\n".join(line for line in payload.split(b"\r\n") if not line.startswith(b"Date: "))
