"""The kubelet API's HTTP layer as raw clients see it: keep-alive, HEAD, 404/405/400, chunked streams,
and a handler's failure answered as a 500 Status that does not show the failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from kubelet.http_server import HTTPServer, Write, internal_errors, json_response, stream_response

WAIT_S = 10.0


async def hello(request: web.Request) -> web.Response:
    return json_response({"pod": request.match_info.get("pod", ""), "query": dict(request.query)})


async def stream(request: web.Request) -> web.StreamResponse:
    async def produce(write: Write) -> None:
        for part in (b"one\n", b"two\n"):
            await write(part)

    return await stream_response(request, produce)


async def broken(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = web.Application(middlewares=[internal_errors])
    app.router.add_get("/logs/{pod}", hello)
    app.router.add_get("/stream", stream)
    app.router.add_get("/broken", broken)
    server = HTTPServer(app, host="127.0.0.1", port=0, ssl_context=None)
    yield await server.start()
    await server.stop()


async def exchange(port: int, raw: bytes) -> bytes:
    """Sends ``raw`` (its last request says ``Connection: close``) and reads until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(WAIT_S):
            return await reader.read()
    finally:
        writer.close()


CLOSE = b"Host: x\r\nConnection: close\r\n\r\n"


async def test_keep_alive_serves_two_requests_on_one_connection(port: int) -> None:
    data = await exchange(
        port,
        b"GET /logs/web%2D1?tailLines=3 HTTP/1.1\r\nHost: x\r\n\r\nGET /logs/db HTTP/1.1\r\n" + CLOSE,
    )
    assert data.count(b"HTTP/1.1 200 ") == 2
    assert b'{"pod": "web-1", "query": {"tailLines": "3"}}' in data and b'{"pod": "db", "query": {}}' in data


async def test_head_has_headers_and_no_body(port: int) -> None:
    data = await exchange(port, b"HEAD /logs/web HTTP/1.1\r\n" + CLOSE)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"content-length: " in head.lower() and body == b""


async def test_unknown_path_wrong_method_and_garbage_are_precise(port: int) -> None:
    assert (await exchange(port, b"GET /nope HTTP/1.1\r\n" + CLOSE)).startswith(b"HTTP/1.1 404 ")
    assert (await exchange(port, b"GET /logs/ HTTP/1.1\r\n" + CLOSE)).startswith(b"HTTP/1.1 404 ")
    posted = await exchange(port, b"POST /stream HTTP/1.1\r\nContent-Length: 2\r\n" + CLOSE + b"hi")
    assert posted.startswith(b"HTTP/1.1 405 Method Not Allowed") and b"\r\nAllow: GET,HEAD\r\n" in posted
    garbage = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert garbage.partition(b"\r\n")[0].endswith(b" 400 Bad Request")


async def test_streams_are_chunked_and_handler_errors_are_a_500_status(port: int) -> None:
    streamed = await exchange(port, b"GET /stream HTTP/1.1\r\n" + CLOSE)
    assert (
        b"transfer-encoding: chunked" in streamed.lower()
        and b"4\r\none\n\r\n4\r\ntwo\n\r\n0\r\n\r\n" in streamed
    )
    failed = await exchange(port, b"GET /broken HTTP/1.1\r\n" + CLOSE)
    assert (
        failed.startswith(b"HTTP/1.1 500 ")
        and b'"reason": "InternalError"' in failed
        and b"boom" not in failed
    )
