from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator

import pytest

from cri.streaming.server import StreamingServer
from tests.streaming.host_runtime import HostRuntime

WELCOME_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n"
    b"<body><h1>Welcome to nginx!</h1></body></html>\n"
)


async def _serve_welcome(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers one GET like busybox httpd in the recordings (Connection: close)."""
    await reader.readuntil(b"\r\n\r\n")
    date = email.utils.formatdate(usegmt=True).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nDate: " + date + b"\r\nConnection: close\r\nContent-type: text/html\r\n"
        b"Accept-Ranges: bytes\r\nLast-Modified: Sat, 01 Jan 2000 00:00:00 GMT\r\n"
        b'ETag: "386d4380-73"\r\n' + f"Content-Length: {len(WELCOME_BODY)}\r\n\r\n".encode() + WELCOME_BODY
    )
    await writer.drain()
    writer.close()


async def _serve_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def web_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_serve_welcome, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_serve_echo, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
async def runtime(web_port: int) -> AsyncIterator[HostRuntime]:
    host_runtime = HostRuntime(port_map={80: web_port})
    yield host_runtime
    await host_runtime.close()


@pytest.fixture
async def server(runtime: HostRuntime) -> AsyncIterator[StreamingServer]:
    streaming = StreamingServer(runtime)
    await streaming.start()
    yield streaming
    await streaming.stop()
