"""The kubelet HTTP API: /healthz, /pods, /runningpods/, /containerLogs, /stats/summary, /metrics.

Loopback by default; any other address needs a bearer token file or client certificates.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from api.core.v1.manifest import pod_list_to_dict
from cri.errors import CRIError
from kubelet.config import ConfigError, KubeletConfiguration
from kubelet.container_logs import LogRequest, LogRequestError, stream_container_log
from kubelet.node import Kubelet
from kubelet.stats import summary

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


class KubeletServer:
    def __init__(self, kubelet: Kubelet, config: KubeletConfiguration) -> None:
        self.kubelet = kubelet
        self.config = config
        self.registry = CollectorRegistry()
        self._running_pods = Gauge(
            "kubelet_running_pods", "Pods with a ready sandbox", registry=self.registry
        )
        self._running_containers = Gauge(
            "kubelet_running_containers", "Containers by state", ["container_state"], registry=self.registry
        )
        self._sandboxes = Gauge(
            "kubelet_pod_sandboxes",
            "Pod sandboxes of this kubelet in the runtime, any state",
            registry=self.registry,
        )
        self._syncs = Gauge(
            "kubelet_pod_syncs", "Pod sync rounds completed since start", registry=self.registry
        )
        self._token = self._read_token()
        self._ssl = self._ssl_context()
        if not is_loopback(config.address) and self._token is None and self._ssl is None:
            raise ConfigError(
                f"address {config.address} is not loopback: set authenticationTokenFile or "
                "tlsCertFile/tlsPrivateKeyFile/clientCAFile to authenticate callers"
            )
        self._runner: web.AppRunner | None = None
        self.port = 0

    def _read_token(self) -> str | None:
        if not self.config.authentication_token_file:
            return None
        token = Path(self.config.authentication_token_file).read_text().strip()
        if not token:
            raise ConfigError(f"{self.config.authentication_token_file}: the token file is empty")
        return token

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.config.tls_cert_file:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert_file, self.config.tls_private_key_file or None)
        if self.config.client_ca_file:
            context.load_verify_locations(self.config.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/pods", self.pods)
        app.router.add_get("/pods/", self.pods)
        app.router.add_get("/runningpods/", self.running_pods)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        app.router.add_get("/stats/summary", self.stats_summary)
        app.router.add_get("/metrics", self.metrics)
        return app

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/healthz" or self._token is None:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._token.encode()):
            return await handler(request)
        if (
            self._ssl is not None
            and request.transport is not None
            and request.transport.get_extra_info("peercert")
        ):
            return await handler(request)
        return _status(
            401, "Unauthorized", "Unauthorized: a valid bearer token or client certificate is required"
        )

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.address, self.config.port, ssl_context=self._ssl)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.config.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def pods(self, request: web.Request) -> web.Response:
        return web.json_response(pod_list_to_dict(self.kubelet.pod_list()), dumps=json.dumps)

    async def running_pods(self, request: web.Request) -> web.Response:
        items = []
        for uid, runtime in sorted(self.kubelet.pleg.snapshot.pods.items()):
            running = runtime.running_containers()
            if not running:
                continue
            pod = self.kubelet.pods.get(uid)
            items.append(
                {
                    "metadata": {
                        "name": pod.name if pod else runtime.name,
                        "namespace": pod.namespace if pod else runtime.namespace,
                        "uid": uid,
                        "creationTimestamp": None,
                    },
                    "spec": {
                        "containers": [{"name": c.name, "image": c.image, "resources": {}} for c in running]
                    },
                    "status": {},
                }
            )
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        try:
            log_request = LogRequest.from_query(
                namespace=request.match_info["namespace"],
                pod=request.match_info["pod"],
                container=request.match_info["container"],
                query=request.query,
            )
        except LogRequestError as exc:
            return _status(400, "BadRequest", str(exc))
        try:
            path, running = self._log_target(log_request)
        except LogRequestError as exc:
            return _status(404, "NotFound", str(exc))
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await stream_container_log(path, log_request, response.write, still_running=running)
        await response.write_eof()
        return response

    def _log_target(self, request: LogRequest) -> tuple[str, Callable[[], Awaitable[bool]]]:
        pod = self.kubelet.find_pod(request.namespace, request.pod)
        if pod is None:
            raise LogRequestError(f'pod "{request.pod}" not found in namespace "{request.namespace}"')
        runtime = self.kubelet.pleg.snapshot.pod(pod.uid)
        history = sorted(runtime.history(request.container), key=lambda c: c.restart_count, reverse=True)
        if not history:
            raise LogRequestError(f'container "{request.container}" in pod "{request.pod}" has no logs yet')
        if request.previous:
            if len(history) < 2:
                raise LogRequestError(
                    f'previous terminated container "{request.container}" in pod "{request.pod}" not found'
                )
            target = history[1]
        else:
            target = history[0]

        async def still_running() -> bool:
            current = self.kubelet.pleg.snapshot.pod(pod.uid)
            return any(c.id == target.id and c.running for c in current.containers)

        return target.log_path, still_running

    async def stats_summary(self, request: web.Request) -> web.Response:
        try:
            body: dict[str, Any] = await summary(self.kubelet)
        except CRIError as exc:
            return _status(503, "ServiceUnavailable", f"runtime stats: {exc.message}")
        return web.json_response(body)

    async def metrics(self, request: web.Request) -> web.Response:
        pods = self.kubelet.pleg.snapshot.pods.values()
        self._running_pods.set(sum(1 for p in pods if p.ready_sandbox()))
        states: dict[str, int] = {"running": 0, "exited": 0, "created": 0}
        for pod in pods:
            for container in pod.containers:
                key = "running" if container.running else "exited" if container.exited else "created"
                states[key] += 1
        self._syncs.set(self.kubelet.sync_count)
        self._sandboxes.set(sum(len(p.sandboxes) for p in pods))
        for state, count in states.items():
            self._running_containers.labels(container_state=state).set(count)
        text = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})
