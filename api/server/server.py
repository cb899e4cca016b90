"""``ApiServer``: the store, the watch caches, the namespace controller and the HTTPS listener,
supervised under one TaskGroup in ``run()``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from api.registry.resources import Registry
from api.server.authn import AllowAuthenticated, Authenticator, load_tokens
from api.server.handlers.context import Api
from api.server.metrics import RequestMetrics
from api.server.namespaces import ensure_system_namespaces, run_namespace_controller
from api.server.objects import Objects
from api.server.routes import Middleware, build_app
from api.server.storage import compact_forever
from api.server.tls import Pki, ensure_pki, server_context, write_kubeconfig
from api.server.watchcache import WatchCaches
from api.storage import Store, StoreError
from api.storage.etcd import EtcdStore

log = logging.getLogger("tinykube.apiserver")
HEALTH_KEY = b"/registry/health"


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443
    token_file: Path | None = None
    kubeconfig: Path | None = None
    compaction_interval: float = 300.0
    extra_sans: tuple[str, ...] = field(default=())


class ApiServer:
    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.pki: Pki = ensure_pki(config.data_dir / "pki", config.host)
        self.port = config.port
        self.started = asyncio.Event()

    @property
    def url(self) -> str:
        host = self.config.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"https://{shown}:{self.port}"

    async def _healthy(self) -> bool:
        try:
            await asyncio.wait_for(self.store.get(HEALTH_KEY), 2.0)
        except (StoreError, TimeoutError):
            return False
        return True

    async def run(self, stop: asyncio.Event, ready: Callable[[], None] = lambda: None) -> None:
        async with asyncio.TaskGroup() as tasks:
            api = Api(Objects(self.store), Registry(), WatchCaches(self.store, tasks))
            for strategy in api.registry.resources:
                await api.caches.of(strategy)
            await ensure_system_namespaces(api)
            background = [tasks.create_task(run_namespace_controller(api), name="namespace-controller")]
            if isinstance(self.store, EtcdStore):
                background.append(tasks.create_task(
                    compact_forever(self.store, self.config.compaction_interval), name="compactor"))
            middleware = Middleware(Authenticator(load_tokens(self.config.token_file)), AllowAuthenticated(),
                                    RequestMetrics())
            app = build_app(api, middleware, self._healthy, lambda: f"{self.config.host}:{self.port}")
            async with self._listening(app):
                self.started.set()
                ready()
                await stop.wait()
            for task in background:
                task.cancel()
            api.caches.close()

    @contextlib.asynccontextmanager
    async def _listening(self, app: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port,
                           ssl_context=server_context(self.pki), backlog=1024)
        await site.start()
        sockets = runner.addresses
        if sockets:
            self.port = int(sockets[0][1])
        if self.config.kubeconfig is not None:
            write_kubeconfig(self.pki, self.config.kubeconfig, self.url)
        log.info("serving the Kubernetes API on %s", self.url)
        try:
            yield
        finally:
            await runner.cleanup()
