"""The streaming server's edge: tokens, validation, refusals, hostile peers, TLS."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import struct
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from cri.errors import InvalidArgument, NotFound, ResourceExhausted
from cri.streaming.server import StreamingServer
from cri.streaming.spdy.frames import DataFrame, GoAway, GoAwayStatus, SynStream
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from cri.streaming.tokens import TokenStore
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from tests.streaming.host_runtime import HostRuntime
from tests.streaming.wire import RawClient

SPDY_EXEC_HEAD = (
    "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: Upgrade\r\n"
    "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
)


def exec_spec(cmd: tuple[str, ...] = ("echo", "hi"), /, **flags: bool) -> ExecSpec:
    values = {"tty": False, "stdin": False, "stdout": True, "stderr": True} | flags
    return ExecSpec(container_id="c", cmd=cmd, **values)


async def spdy_upgrade(server: StreamingServer, url: str) -> tuple[RawClient, str]:
    client = await RawClient.connect(server.base_url)
    parts = urlsplit(url)
    response = await client.request(SPDY_EXEC_HEAD.format(path=parts.path, host=parts.netloc).encode())
    return client, response.status_line


async def read_all_frames(client: RawClient) -> list[object]:
    parser, frames = FrameParser(), list[object]()
    async with asyncio.timeout(15):
        while data := await client.reader.read(65536):
            frames += parser.feed(data)
    return frames


def test_urls_carry_random_tokens_of_at_least_8_bytes(server: StreamingServer) -> None:
    urls = {server.exec_url(exec_spec()) for _ in range(50)}
    assert len(urls) == 50
    for url in urls:
        assert url.startswith(server.base_url + "/exec/")
        assert len(url.rsplit("/", 1)[1]) >= 11  # 8 bytes in URL-safe base64
    attach = server.attach_url(
        AttachSpec(container_id="c", tty=False, stdin=False, stdout=True, stderr=False)
    )
    assert attach.startswith(server.base_url + "/attach/")
    assert server.port_forward_url(PortForwardSpec(pod_sandbox_id="p", ports=(80,))).startswith(
        server.base_url + "/portforward/"
    )


def test_base_url_is_loopback_by_default(server: StreamingServer) -> None:
    assert urlsplit(server.base_url).hostname == "127.0.0.1"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"stdout": False, "stderr": False}, "one of stdin, stdout, or stderr must be set"),
        ({"tty": True, "stderr": True}, "tty and stderr cannot both be true"),
    ],
)
def test_exec_and_attach_validation(server: StreamingServer, flags: dict[str, bool], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        server.exec_url(exec_spec(**flags))
    values = {"tty": False, "stdin": False, "stdout": True, "stderr": True} | flags
    with pytest.raises(InvalidArgument, match=message):
        server.attach_url(AttachSpec(container_id="c", **values))


def test_exec_needs_a_command_and_port_forward_valid_ports(server: StreamingServer) -> None:
    with pytest.raises(InvalidArgument, match="cmd is required"):
        server.exec_url(exec_spec(()))
    with pytest.raises(InvalidArgument, match="port must be in 1-65535, got 70000"):
        server.port_forward_url(PortForwardSpec(pod_sandbox_id="p", ports=(80, 70000)))


def test_at_most_1000_outstanding_tokens(server: StreamingServer) -> None:
    for _ in range(1000):
        server.exec_url(exec_spec())
    with pytest.raises(ResourceExhausted, match="at most 1000"):
        server.exec_url(exec_spec())


def test_tokens_expire_after_a_minute_and_free_their_slot() -> None:
    now = [0.0]
    tokens = TokenStore(max_outstanding=1, clock=lambda: now[0])
    token = tokens.issue(exec_spec())
    with pytest.raises(ResourceExhausted):
        tokens.issue(exec_spec())
    now[0] = 60.0
    assert tokens.redeem(token) is None
    assert len(tokens) == 0
    fresh = tokens.issue(exec_spec())
    assert tokens.redeem(fresh) == exec_spec()
    assert tokens.redeem(fresh) is None


async def test_unknown_used_and_mismatched_tokens_get_404_without_upgrade(server: StreamingServer) -> None:
    url = server.exec_url(exec_spec())
    client, status = await spdy_upgrade(server, url)
    assert status == "HTTP/1.1 101 Switching Protocols"
    await client.close()
    attach_path_url = server.exec_url(exec_spec()).replace("/exec/", "/attach/")
    async with aiohttp.ClientSession() as http:
        for target in (url, server.base_url + "/exec/nosuchtoken", attach_path_url):
            async with http.post(
                target, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
            ) as response:
                assert response.status == 404
                assert "token" in await response.text()
                assert "Upgrade" not in response.headers


async def test_requests_without_an_upgrade_get_400(server: StreamingServer) -> None:
    async with aiohttp.ClientSession() as http, http.post(server.exec_url(exec_spec())) as response:
        assert response.status == 400
        assert "SPDY/3.1 or websocket" in await response.text()


async def test_unsupported_protocol_offers_get_403_naming_them(server: StreamingServer) -> None:
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "SPDY/3.1",
        "X-Stream-Protocol-Version": "v9.channel.k8s.io",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(server.exec_url(exec_spec()), headers=headers) as response:
            assert response.status == 403
            assert "v9.channel.k8s.io" in await response.text()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.exec_url(exec_spec()), protocols=("v9.channel.k8s.io",))
        assert refused.value.status == 403


async def test_a_failed_start_is_reported_on_the_error_stream(
    server: StreamingServer, runtime: HostRuntime
) -> None:
    async def missing(*args: object, **kwargs: object) -> None:
        raise NotFound("container c not found")

    runtime.start_exec = missing  # type: ignore[method-assign,assignment]
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(server.exec_url(exec_spec()), protocols=("v4.channel.k8s.io",)) as ws,
    ):
        messages = [message.data async for message in ws]
    error = json.loads(messages[-1][1:])
    assert (messages[-1][0], error["status"], error["message"]) == (3, "Failure", "container c not found")


async def test_a_hostile_spdy_peer_is_disconnected_and_the_server_stays_up(server: StreamingServer) -> None:
    client, status = await spdy_upgrade(server, server.exec_url(exec_spec()))
    assert status == "HTTP/1.1 101 Switching Protocols"
    bomb_block = b"\x78" + b"\xff" * 64
    await client.send(
        struct.pack(">HHI", 0x8003, 1, 10 + len(bomb_block)) + b"\x00\x00\x00\x01" + b"\x00" * 6 + bomb_block
    )
    frames = await read_all_frames(client)
    await client.close()
    assert frames == [GoAway(last_good_stream_id=0, status=GoAwayStatus.PROTOCOL_ERROR)]
    await assert_exec_works(server)


async def test_a_peer_that_vanishes_mid_session_kills_the_exec(
    server: StreamingServer, runtime: HostRuntime
) -> None:
    cmd = ("sh", "-c", "echo up; exec sleep 600")
    client, _ = await spdy_upgrade(server, server.exec_url(exec_spec(cmd, stderr=False)))
    writer = FrameWriter()
    await client.send(writer.encode(SynStream(stream_id=1, headers=(("streamtype", "error"),))))
    await client.send(writer.encode(SynStream(stream_id=3, headers=(("streamtype", "stdout"),))))
    parser, frames = FrameParser(), []
    async with asyncio.timeout(15):
        while DataFrame(stream_id=3, data=b"up\n") not in frames:
            frames += parser.feed(await client.reader.read(65536))
    await client.close()
    async with asyncio.timeout(15):
        assert await runtime.started[0].wait() == 128 + 15  # SIGTERM, which runc exec would forward
    await assert_exec_works(server)


async def assert_exec_works(server: StreamingServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(server.exec_url(exec_spec()), protocols=("v4.channel.k8s.io",)) as ws,
    ):
        messages = [message.data async for message in ws]
    assert b"\x01hi\n" in messages


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI to make a certificate")
async def test_tls(runtime: HostRuntime, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl = await asyncio.create_subprocess_exec(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-days",
        "1",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await openssl.wait() == 0
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert, key)
    streaming = StreamingServer(runtime, ssl_context=server_ssl)
    await streaming.start()
    try:
        assert streaming.base_url.startswith("https://127.0.0.1:")
        client_ssl = ssl.create_default_context(cafile=str(cert))
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(
                streaming.exec_url(exec_spec()), protocols=("v4.channel.k8s.io",), ssl=client_ssl
            ) as ws,
        ):
            messages = [message.data async for message in ws]
        assert b"\x01hi\n" in messages
    finally:
        await streaming.stop()


async def test_stop_ends_running_sessions(runtime: HostRuntime) -> None:
    streaming = StreamingServer(runtime)
    await streaming.start()
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            streaming.exec_url(exec_spec(("sh", "-c", "echo started; exec sleep 600"))),
            protocols=("v4.channel.k8s.io",),
        ) as ws,
    ):
        assert (await ws.receive(timeout=15)).data == b"\x01"
        assert (await ws.receive(timeout=15)).data == b"\x01started\n"
        async with asyncio.timeout(15):
            await streaming.stop()
            assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert runtime.started[0].returncode is not None
