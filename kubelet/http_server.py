"""A small asyncio HTTP/1.1 server on h11 for the kubelet API: GET/HEAD routes, keep-alive, chunked streams.

The kubelet's API is a handful of GET endpoints; h11 does the protocol, this module the I/O, so the
kubelet does not carry a full web framework in its idle footprint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

log = logging.getLogger(__name__)
READ_CHUNK = 65536
IDLE_TIMEOUT_S = 75.0
WRITE_TIMEOUT_S = 30.0
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

Write = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    params: Mapping[str, str] = field(default_factory=dict)
    client_certificate: bool = False


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = TEXT
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StreamingResponse:
    """Sent chunked: ``produce`` writes the body as it comes (e.g. a followed log)."""

    produce: Callable[[Write], Awaitable[None]]
    status: int = 200
    content_type: str = TEXT


Reply = Response | StreamingResponse
Handler = Callable[[Request], Awaitable[Reply]]
Middleware = Callable[[Request, Handler], Awaitable[Reply]]


def json_response(body: Any, *, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(body).encode(), content_type=JSON)


def status_response(code: int, reason: str, message: str) -> Response:
    """A failure as a v1 Status object, as the kubelet answers."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return json_response(body, status=code)


@dataclass(frozen=True, kw_only=True)
class _Route:
    segments: tuple[str, ...]
    handler: Handler

    def match(self, parts: tuple[str, ...]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, part in zip(self.segments, parts, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not part:
                    return None
                params[pattern[1:-1]] = part
            elif pattern != part:
                return None
        return params


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _split(path: str) -> tuple[str, ...]:
    return tuple(unquote(part) for part in path.split("/")[1:])


class Router:
    def __init__(self, middleware: Middleware | None = None) -> None:
        self._routes: list[_Route] = []
        self._middleware = middleware

    def get(self, path: str, handler: Handler) -> None:
        """``path`` segments in braces (``/logs/{pod}``) match one non-empty segment each."""
        self._routes.append(_Route(segments=tuple(path.split("/")[1:]), handler=handler))

    async def dispatch(self, request: Request) -> Reply:
        parts = _split(request.path)
        for route in self._routes:
            params = route.match(parts)
            if params is None:
                continue
            if request.method not in ("GET", "HEAD"):
                return Response(status=405, body=b"405: Method Not Allowed", headers={"Allow": "GET, HEAD"})
            bound = Request(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                params=params,
                client_certificate=request.client_certificate,
            )
            if self._middleware is None:
                return await route.handler(bound)
            return await self._middleware(bound, route.handler)
        return Response(status=404, body=b"404: Not Found")


class HTTPServer:
    def __init__(self, router: Router, *, host: str, port: int, ssl_context: ssl.SSLContext | None) -> None:
        self.router = router
        self.host = host
        self.port = port
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self) -> int:
        """Listens and returns the bound port (the configured one, or the kernel's pick for 0)."""
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, ssl=self._ssl, limit=MAX_HEADER_BYTES
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        self._stopping = True
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()
        self._server = None
        self._stopping = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await _Connection(self.router, reader, writer).serve()
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            log.debug("kubelet API connection closed: %s", exc)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Ends normally: asyncio's stream callback cannot take a cancelled connection task.
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()


class _Connection:
    def __init__(self, router: Router, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.router = router
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.client_certificate = bool(writer.get_extra_info("peercert"))

    async def serve(self) -> None:
        while True:
            try:
                request = await self._read_request()
            except h11.RemoteProtocolError as exc:
                if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(Response(status=exc.error_status_hint, body=f"{exc}".encode()))
                return
            if request is None:
                return
            await self._send(await self._handle(request), head=request.method == "HEAD")
            if self.conn.our_state is not h11.DONE or self.conn.their_state is not h11.DONE:
                return
            self.conn.start_next_cycle()

    async def _next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                data = await self.reader.read(READ_CHUNK)
            self.conn.receive_data(data)

    async def _read_request(self) -> Request | None:
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return None
        body = 0
        while not isinstance(end := await self._next_event(), h11.EndOfMessage):
            if isinstance(end, h11.ConnectionClosed):
                return None
            if isinstance(end, h11.Data):
                body += len(end.data)
                if body > MAX_BODY_BYTES:
                    raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
        target = urlsplit(event.target.decode("ascii", "replace"))
        return Request(
            method=event.method.decode("ascii", "replace"),
            path=target.path or "/",
            query=dict(parse_qsl(target.query, keep_blank_values=True)),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers},
            client_certificate=self.client_certificate,
        )

    async def _handle(self, request: Request) -> Reply:
        try:
            return await self.router.dispatch(request)
        except Exception:
            log.exception("kubelet API %s %s failed", request.method, request.path)
            return status_response(500, "InternalError", f"internal error serving {request.path}")

    async def _write(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self.writer.drain()

    async def _send(self, reply: Reply, *, head: bool = False) -> None:
        if isinstance(reply, StreamingResponse) and not head:
            await self._write(
                h11.Response(
                    status_code=reply.status,
                    reason=_reason(reply.status),
                    headers=[("Content-Type", reply.content_type), ("Transfer-Encoding", "chunked")],
                )
            )

            async def write(chunk: bytes) -> None:
                if chunk:
                    await self._write(h11.Data(data=chunk))

            await reply.produce(write)
        elif isinstance(reply, Response):
            headers = [
                ("Content-Type", reply.content_type),
                ("Content-Length", str(len(reply.body))),
                *reply.headers.items(),
            ]
            await self._write(
                h11.Response(status_code=reply.status, reason=_reason(reply.status), headers=headers)
            )
            if reply.body and not head:
                await self._write(h11.Data(data=reply.body))
        else:
            await self._write(
                h11.Response(
                    status_code=reply.status,
                    reason=_reason(reply.status),
                    headers=[("Content-Type", reply.content_type)],
                )
            )
        await self._write(h11.EndOfMessage())
