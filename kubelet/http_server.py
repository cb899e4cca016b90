"""The kubelet API's HTTP layer on aiohttp: v1 Status answers, a handler's failure as a 500 Status
(logged, never shown to the caller), chunked streams, and a server bound to one address."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)
JSON = "application/json"
TEXT = "text/plain"

Write = Callable[[bytes], Awaitable[None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, *, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode(), content_type=JSON, charset="utf-8")


def status_response(code: int, reason: str, message: str) -> web.Response:
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


async def stream_response(
    request: web.Request, produce: Callable[[Write], Awaitable[None]]
) -> web.StreamResponse:
    """A chunked text body that ``produce`` writes as it comes (e.g. a followed log)."""
    response = web.StreamResponse(headers={"Content-Type": f"{TEXT}; charset=utf-8"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await produce(response.write)
    await response.write_eof()
    return response


@web.middleware
async def internal_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("kubelet API %s %s failed", request.method, request.path)
        return status_response(500, "InternalError", f"internal error serving {request.path}")


class HTTPServer:
    """``app`` served on one address until stopped."""

    def __init__(
        self, app: web.Application, *, host: str, port: int, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.host = host
        self.port = port
        self._runner = web.AppRunner(app, access_log=None)
        self._ssl = ssl_context

    async def start(self) -> int:
        """Listens and returns the bound port (the configured one, or the kernel's pick for 0)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()
