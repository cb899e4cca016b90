"""The scheduler's /healthz and /metrics over HTTP, on loopback only (no TLS or authentication here)."""

from __future__ import annotations

import asyncio
import ipaddress

from aiohttp import web
from prometheus_client import generate_latest

from scheduler.scheduler import Scheduler

DEFAULT_PORT = 10251
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class NotLoopbackError(ValueError):
    def __init__(self, host: str) -> None:
        super().__init__(
            f"--bind-address {host}: the scheduler serves /healthz and /metrics on loopback only"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(scheduler: Scheduler) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def metrics(request: web.Request) -> web.Response:
        scheduler.metrics.set_pending(scheduler.queue.pending())
        body = generate_latest(scheduler.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": PROMETHEUS_TEXT})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(scheduler: Scheduler, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serves until cancelled."""
    if not is_loopback(host):
        raise NotLoopbackError(host)
    runner = web.AppRunner(build_app(scheduler), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
