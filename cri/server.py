"""The CRI gRPC server: one servicer pair over a backend, on a unix socket (or TCP for tests)."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cri.backend import ImageBackend, RuntimeBackend
from cri.servicer.guard import Guard, RpcMetrics
from cri.servicer.image import make_image_servicer
from cri.servicer.runtime import make_runtime_servicer
from cri.v1 import api_pb2_grpc as pb_grpc

log = logging.getLogger("tinykube.cri.server")

MAX_MESSAGE = 16 * 1024 * 1024 * 3  # ExecSync may carry 16 MiB each of stdout and stderr
SERVICES = ("runtime.v1.RuntimeService", "runtime.v1.ImageService")


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    socket: Path | None = None
    tcp_address: str | None = None
    metrics_address: str | None = None
    drain_seconds: float = 10.0


def prepare_socket(path: Path) -> None:
    """A fresh socket path in a directory only root and its group can enter."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o750)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class CRIServer:
    """Serves RuntimeService, ImageService and gRPC health until stopped or signalled."""

    def __init__(self, runtime: RuntimeBackend, images: ImageBackend, options: ServerOptions) -> None:
        self.options = options
        self.metrics = RpcMetrics()
        guard = Guard(self.metrics)
        self._server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
            ]
        )
        pb_grpc.add_RuntimeServiceServicer_to_server(make_runtime_servicer(runtime, guard), self._server)
        pb_grpc.add_ImageServiceServicer_to_server(make_image_servicer(images, guard), self._server)
        self._health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        self._metrics_runner: web.AppRunner | None = None
        self.tcp_port: int | None = None
        self.metrics_port: int | None = None

    async def start(self) -> None:
        if self.options.socket is not None:
            prepare_socket(self.options.socket)
            self._server.add_insecure_port(f"unix://{self.options.socket}")
        if self.options.tcp_address is not None:
            self.tcp_port = self._server.add_insecure_port(self.options.tcp_address)
        await self._server.start()
        if self.options.socket is not None:
            os.chmod(self.options.socket, 0o660)
        for service in ("", *SERVICES):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        if self.options.metrics_address is not None:
            await self._start_metrics(self.options.metrics_address)
        log.info("CRI server listening socket=%s tcp=%s", self.options.socket, self.tcp_port)

    async def _start_metrics(self, address: str) -> None:
        host, _, port = address.rpartition(":")

        async def metrics(_: web.Request) -> web.Response:
            body = generate_latest(self.metrics.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._metrics_runner = web.AppRunner(app, access_log=None)
        await self._metrics_runner.setup()
        site = web.TCPSite(self._metrics_runner, host or "127.0.0.1", int(port))
        await site.start()
        sockets = self._metrics_runner.addresses
        self.metrics_port = int(sockets[0][1]) if sockets else None

    async def stop(self) -> None:
        """Refuse new calls, let running ones finish for ``drain_seconds``, then close."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(self.options.drain_seconds)
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
        if self.options.socket is not None:
            with contextlib.suppress(FileNotFoundError):
                self.options.socket.unlink()
        log.info("CRI server stopped")
