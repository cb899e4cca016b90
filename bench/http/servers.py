"""The same two endpoints on each HTTP stack the benchmark compares, one stack per process.

``GET /json``: a ready-made JSON body (the kubelet caches its /pods body, so only the HTTP stack
works per request). ``GET /stream``: a chunked body written piece by piece, as a followed log.

    python -m bench.http.servers STACK PORT_FILE

writes the bound port to PORT_FILE and serves on 127.0.0.1 until killed. The ASGI stacks and h11
are imported only when chosen; run with their libraries on PYTHONPATH.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
STREAM_CHUNKS = 32
STREAM_CHUNK = b"2026-12-07T13:00:00.000000000Z stdout F " + b"x" * 88 + b"\n"
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"


def pod_list_body(pods: int = 30) -> bytes:
    """About the size of the kubelet's /pods for ``pods`` running pods."""
    item = {
        "metadata": {"name": "web-node1", "namespace": "default", "uid": "0" * 32, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "inf"]}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": t, "status": "True"} for t in ("Ready", "Initialized", "PodScheduled")],
            "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "image": "busybox"}],
        },
    }
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "items": [item] * pods}).encode()


BODY = pod_list_body()


async def serve_aiohttp(port_file: Path) -> None:
    from aiohttp import web

    async def pods(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type=JSON_TYPE)

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": TEXT_TYPE})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(STREAM_CHUNKS):
            await response.write(STREAM_CHUNK)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/json", pods)
    app.router.add_get("/stream", stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    _announce(port_file, runner.addresses[0][1])
    await asyncio.Event().wait()


async def serve_h11(port_file: Path) -> None:
    """The shape of the kubelet's former h11 server: h11 for the protocol, asyncio streams for I/O."""
    import h11

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)

        async def send(event: Any) -> None:
            writer.write(conn.send(event) or b"")
            await writer.drain()

        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
                continue
            if not isinstance(event, h11.Request):
                break
            while not isinstance(conn.next_event(), h11.EndOfMessage):
                conn.receive_data(await reader.read(65536))
            if event.target == b"/json":
                headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(BODY)))]
                await send(h11.Response(status_code=200, headers=headers))
                await send(h11.Data(data=BODY))
            else:
                chunked = [("Content-Type", TEXT_TYPE), ("Transfer-Encoding", "chunked")]
                await send(h11.Response(status_code=200, headers=chunked))
                for _ in range(STREAM_CHUNKS):
                    await send(h11.Data(data=STREAM_CHUNK))
            await send(h11.EndOfMessage())
            conn.start_next_cycle()
        writer.close()

    server = await asyncio.start_server(connection, HOST, 0)
    _announce(port_file, server.sockets[0].getsockname()[1])
    await asyncio.Event().wait()


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def pods(request: Any) -> Response:
        return Response(BODY, media_type=JSON_TYPE)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(STREAM_CHUNKS):
            yield STREAM_CHUNK

    async def stream(request: Any) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type=TEXT_TYPE)

    return Starlette(routes=[Route("/json", pods), Route("/stream", stream)])


async def serve_uvicorn(port_file: Path) -> None:
    import socket

    import uvicorn

    listener = socket.socket()
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # uvicorn sets it only on sockets it binds
    listener.bind((HOST, 0))
    listener.listen(128)
    config = uvicorn.Config(starlette_app(), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    _announce(port_file, listener.getsockname()[1])
    await server.serve(sockets=[listener])


async def serve_hypercorn(port_file: Path) -> None:
    import socket

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    probe = socket.socket()
    probe.bind((HOST, 0))
    port = probe.getsockname()[1]
    probe.close()
    config = Config()
    config.bind = [f"{HOST}:{port}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    serving = asyncio.ensure_future(serve(starlette_app(), config))
    await _wait_listening(port)
    _announce(port_file, port)
    await serving


async def _wait_listening(port: int) -> None:
    for _ in range(500):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        return
    raise TimeoutError(f"nothing listens on {port}")


def _announce(port_file: Path, port: int) -> None:
    temporary = port_file.with_suffix(".tmp")
    temporary.write_text(str(port))
    temporary.rename(port_file)


STACKS: dict[str, Callable[[Path], Any]] = {
    "aiohttp": serve_aiohttp,
    "h11": serve_h11,
    "uvicorn+starlette": serve_uvicorn,
    "hypercorn+starlette": serve_hypercorn,
}
MODULES = {
    "aiohttp": "aiohttp",
    "h11": "h11",
    "uvicorn+starlette": "uvicorn",
    "hypercorn+starlette": "hypercorn",
}


if __name__ == "__main__":
    asyncio.run(STACKS[sys.argv[1]](Path(sys.argv[2])))
