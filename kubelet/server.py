"""The kubelet HTTP API: /healthz, /pods, /runningpods/, /containerLogs, /stats/summary, /metrics.

Loopback by default; any other address needs a bearer token file or client certificates.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from api.core.v1.pods import pod_name, pod_namespace, pod_uid
from cri.errors import CRIError
from kubelet.config import ConfigError, KubeletConfiguration
from kubelet.container_logs import LogRequest, LogRequestError, stream_container_log
from kubelet.http_server import (
    JSON,
    Handler,
    HTTPServer,
    Write,
    internal_errors,
    json_response,
    status_response,
    stream_response,
)
from kubelet.node import Kubelet
from kubelet.stats import SummaryProvider

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
UNAUTHENTICATED_PATHS = ("/healthz",)

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Gauge


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class _Metrics:
    """The kubelet's gauges; prometheus_client is imported on the first scrape, not at start."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Gauge

        self.registry: CollectorRegistry = CollectorRegistry()
        self.running_pods: Gauge = Gauge(
            "kubelet_running_pods", "Pods with a ready sandbox", registry=self.registry
        )
        self.running_containers: Gauge = Gauge(
            "kubelet_running_containers", "Containers by state", ["container_state"], registry=self.registry
        )
        self.sandboxes: Gauge = Gauge(
            "kubelet_pod_sandboxes",
            "Pod sandboxes of this kubelet in the runtime, any state",
            registry=self.registry,
        )
        self.syncs: Gauge = Gauge(
            "kubelet_pod_syncs", "Pod sync rounds completed since start", registry=self.registry
        )

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


@dataclass(frozen=True, kw_only=True)
class ServerAuth:
    """How callers prove who they are: a bearer token, client certificates, or (loopback only) neither."""

    token: str | None = None
    ssl: ssl.SSLContext | None = None

    @classmethod
    def from_config(cls, config: KubeletConfiguration) -> ServerAuth:
        auth = cls(token=_read_token(config), ssl=_ssl_context(config))
        if not is_loopback(config.address) and auth.token is None and auth.ssl is None:
            raise ConfigError(
                f"address {config.address} is not loopback: set authenticationTokenFile or "
                "tlsCertFile/tlsPrivateKeyFile/clientCAFile to authenticate callers"
            )
        return auth

    def admits(self, request: web.Request) -> bool:
        if request.path in UNAUTHENTICATED_PATHS or self.token is None:
            return True
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token.encode()):
            return True
        return (
            self.ssl is not None
            and request.transport is not None
            and bool(request.transport.get_extra_info("peercert"))
        )


def _read_token(config: KubeletConfiguration) -> str | None:
    if not config.authentication_token_file:
        return None
    try:
        token = Path(config.authentication_token_file).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"authenticationTokenFile: cannot read {exc.filename}: {exc.strerror}") from exc
    if not token:
        raise ConfigError(f"{config.authentication_token_file}: the token file is empty")
    return token


def _ssl_context(config: KubeletConfiguration) -> ssl.SSLContext | None:
    if not config.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(config.tls_cert_file, config.tls_private_key_file or None)
        if config.client_ca_file:
            context.load_verify_locations(config.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"TLS files: {exc}") from exc
    return context


class KubeletServer:
    def __init__(self, kubelet: Kubelet, config: KubeletConfiguration, auth: ServerAuth) -> None:
        self.kubelet = kubelet
        self.config = config
        self.auth = auth
        self._metrics: _Metrics | None = None
        self._summaries = SummaryProvider(kubelet)
        self._http: HTTPServer | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application(middlewares=[internal_errors, self._authenticate])
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
        if self.auth.admits(request):
            return await handler(request)
        return status_response(
            401, "Unauthorized", "Unauthorized: a valid bearer token or client certificate is required"
        )

    async def start(self) -> None:
        """Listens on the configured address; an ``OSError`` says why it cannot."""
        self._http = HTTPServer(
            self.app(), host=self.config.address, port=self.config.port, ssl_context=self.auth.ssl
        )
        self.port = await self._http.start()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
            self._http = None

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(body=b"ok", content_type="text/plain", charset="utf-8")

    async def pods(self, request: web.Request) -> web.Response:
        return web.Response(body=self.kubelet.pod_list_body(), content_type=JSON, charset="utf-8")

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
                        "name": pod_name(pod) if pod else runtime.name,
                        "namespace": pod_namespace(pod) if pod else runtime.namespace,
                        "uid": uid,
                        "creationTimestamp": None,
                    },
                    "spec": {
                        "containers": [{"name": c.name, "image": c.image, "resources": {}} for c in running]
                    },
                    "status": {},
                }
            )
        return json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        try:
            log_request = LogRequest.from_query(
                namespace=request.match_info["namespace"],
                pod=request.match_info["pod"],
                container=request.match_info["container"],
                query=dict(request.query),
            )
        except LogRequestError as exc:
            return status_response(400, "BadRequest", str(exc))
        try:
            path, running = self._log_target(log_request)
        except LogRequestError as exc:
            return status_response(404, "NotFound", str(exc))

        async def produce(write: Write) -> None:
            await stream_container_log(path, log_request, write, still_running=running)

        return await stream_response(request, produce)

    def _log_target(self, request: LogRequest) -> tuple[str, Callable[[], Awaitable[bool]]]:
        pod = self.kubelet.find_pod(request.namespace, request.pod)
        if pod is None:
            raise LogRequestError(f'pod "{request.pod}" not found in namespace "{request.namespace}"')
        runtime = self.kubelet.pleg.snapshot.pod(pod_uid(pod))
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
            current = self.kubelet.pleg.snapshot.pod(pod_uid(pod))
            return any(c.id == target.id and c.running for c in current.containers)

        return target.log_path, still_running

    async def stats_summary(self, request: web.Request) -> web.Response:
        try:
            body: dict[str, Any] = await self._summaries.summary()
        except CRIError as exc:
            return status_response(503, "ServiceUnavailable", f"runtime stats: {exc.message}")
        return json_response(body)

    async def metrics(self, request: web.Request) -> web.Response:
        metrics = self._metrics = self._metrics or _Metrics()
        pods = self.kubelet.pleg.snapshot.pods.values()
        metrics.running_pods.set(sum(1 for p in pods if p.ready_sandbox()))
        states: dict[str, int] = {"running": 0, "exited": 0, "created": 0}
        for pod in pods:
            for container in pod.containers:
                key = "running" if container.running else "exited" if container.exited else "created"
                states[key] += 1
        metrics.syncs.set(self.kubelet.sync_count)
        metrics.sandboxes.set(sum(len(p.sandboxes) for p in pods))
        for state, count in states.items():
            metrics.running_containers.labels(container_state=state).set(count)
        text = await asyncio.to_thread(metrics.render)
        return web.Response(body=text, headers={"Content-Type": PROMETHEUS_TEXT})
