"""The CRI streaming server: Exec/Attach/PortForward return a URL here; clients upgrade on it.

``/exec/<token>``, ``/attach/<token>`` and ``/portforward/<token>`` accept SPDY/3.1
(``Upgrade: SPDY/3.1``) and WebSocket upgrades. A token is single-use, expires after a minute,
and stands for the request the CRI call validated.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from urllib.parse import urlunsplit

from aiohttp import web

from cri.errors import InvalidArgument
from cri.streaming.backend import StreamingRuntime
from cri.streaming.tokens import StreamRequest, TokenStore
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from cri.streaming.upgrade import SessionHandler

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_SECONDS = 5.0
ROUTE_KINDS = {"exec": ExecSpec, "attach": AttachSpec, "portforward": PortForwardSpec}


def validate_streams(*, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> None:
    if not (stdin or stdout or stderr):
        raise InvalidArgument("one of stdin, stdout, or stderr must be set")
    if tty and stderr:
        raise InvalidArgument("tty and stderr cannot both be true")


class StreamingServer:
    def __init__(
        self,
        runtime: StreamingRuntime,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        tokens: TokenStore | None = None,
    ) -> None:
        self._runtime = runtime
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._tokens = tokens or TokenStore()
        self._sessions = SessionHandler(runtime)
        self._runner: web.AppRunner | None = None
        self._active: set[asyncio.Task[object]] = set()
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the streaming server is not started")
        return self._base_url

    async def start(self) -> None:
        app = web.Application()
        for kind in ROUTE_KINDS:
            app.router.add_route("*", f"/{kind}/{{token}}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = urlunsplit(("https" if self._ssl else "http", f"{host}:{bound_port}", "", "", ""))
        log.info("streaming server listening url=%s", self._base_url)

    async def stop(self) -> None:
        for task in list(self._active):
            task.cancel()
        await asyncio.gather(*self._active, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def exec_url(self, spec: ExecSpec) -> str:
        if not spec.cmd:
            raise InvalidArgument("cmd is required")
        validate_streams(tty=spec.tty, stdin=spec.stdin, stdout=spec.stdout, stderr=spec.stderr)
        return self._url("exec", spec)

    def attach_url(self, spec: AttachSpec) -> str:
        validate_streams(tty=spec.tty, stdin=spec.stdin, stdout=spec.stdout, stderr=spec.stderr)
        return self._url("attach", spec)

    def port_forward_url(self, spec: PortForwardSpec) -> str:
        bad = [port for port in spec.ports if not 0 < port < 65536]
        if bad:
            raise InvalidArgument(f"port must be in 1-65535, got {bad[0]}")
        return self._url("portforward", spec)

    def _url(self, kind: str, request: StreamRequest) -> str:
        return f"{self.base_url}/{kind}/{self._tokens.issue(request)}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        kind = request.path.split("/")[1]
        stream_request = self._tokens.redeem(request.match_info["token"])
        if stream_request is None or not isinstance(stream_request, ROUTE_KINDS[kind]):
            raise web.HTTPNotFound(text="unknown, used or expired streaming token\n")
        task = asyncio.current_task()
        assert task is not None
        self._active.add(task)
        try:
            return await self._sessions.serve(request, stream_request)
        finally:
            self._active.discard(task)
