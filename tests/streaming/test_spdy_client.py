"""Our SPDY client session (for a crictl-style ``--transport spdy``) against our server."""

from __future__ import annotations

import asyncio
import json

import pytest

from cri.streaming.server import StreamingServer
from cri.streaming.spdy.client import UpgradeRefused, connect_spdy
from cri.streaming.types import ExecSpec

OFFERS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
)


async def read_to_end(stream: object) -> bytes:
    data = b""
    async with asyncio.timeout(15):
        while chunk := await stream.read():  # type: ignore[attr-defined]
            data += chunk
    return data


async def test_exec_with_stdin_and_exit_code(server: StreamingServer) -> None:
    spec = ExecSpec(
        container_id="c", cmd=("sh", "-c", "cat; echo err >&2; exit 5"), tty=False, stdin=True,
        stdout=True, stderr=True,
    )  # fmt: skip
    client = await connect_spdy(server.exec_url(spec), protocols=OFFERS)
    try:
        assert client.protocol == "v4.channel.k8s.io"
        error = await client.open_stream([("streamType", "error")])
        stdin = await client.open_stream([("streamType", "stdin")])
        stdout = await client.open_stream([("streamType", "stdout")])
        stderr = await client.open_stream([("streamType", "stderr")])
        await stdin.write(b"x" * 300_000)
        await stdin.close_write()
        out, err = await asyncio.gather(read_to_end(stdout), read_to_end(stderr))
        async with asyncio.timeout(15):
            status = json.loads(await error.read())
    finally:
        await client.close()
    assert out == b"x" * 300_000
    assert err == b"err\n"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


async def test_a_used_token_is_refused_with_the_servers_message(server: StreamingServer) -> None:
    spec = ExecSpec(container_id="c", cmd=("true",), tty=False, stdin=False, stdout=True, stderr=False)
    url = server.exec_url(spec)
    first = await connect_spdy(url, protocols=OFFERS)
    await first.close()
    with pytest.raises(UpgradeRefused, match="404 Not Found: unknown, used or expired streaming token"):
        await connect_spdy(url, protocols=OFFERS)
