"""The /healthz and /metrics endpoint of every control-plane daemon (scheduler, controller-manager, proxy).

Loopback only: it has no TLS or authentication, so it refuses any other address. ``/healthz`` answers
as kube's healthz handler: ``ok``, or 500 listing each check (``?verbose`` lists them on success too).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

HealthCheck = Callable[[], bool]


class HealthServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        checks: Mapping[str, HealthCheck] | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(
                f"health server address {host}: only loopback addresses are served (no TLS, no auth)"
            )
        self.host = host
        self.requested_port = port
        self.checks = dict(checks or {})
        self.registry = registry
        self.port: int | None = None
        self.serving = asyncio.Event()

    def add_check(self, name: str, check: HealthCheck) -> None:
        self.checks[name] = check

    async def run(self) -> None:
        """Serves until cancelled; ``port`` and ``serving`` tell when and where it listens."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.requested_port)
            await site.start()
            self.port = runner.addresses[0][1]
            self.serving.set()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        results = {name: _passes(name, check) for name, check in self.checks.items()}
        healthy = all(results.values())
        if healthy and "verbose" not in request.query:
            return web.Response(text="ok")
        lines = [
            f"[+]{name} ok" if ok else f"[-]{name} failed: reason withheld" for name, ok in results.items()
        ]
        lines.append("healthz check passed" if healthy else "healthz check failed")
        return web.Response(text="\n".join(lines) + "\n", status=200 if healthy else 500)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _passes(name: str, check: HealthCheck) -> bool:
    try:
        return check()
    except Exception:
        log.exception("health check %s raised", name)
        return False
