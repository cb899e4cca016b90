"""Running one probe: exec over CRI ExecSync, httpGet, tcpSocket and the gRPC health check.

A probe that ran yields a ``ProbeOutcome``; one that could not run (the runtime failed, the spec
names an unknown port) raises ``ProbeError`` and the worker discards it, as the kubelet does.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from yarl import URL

from api.model.core_v1 import ExecAction, GRPCAction, HTTPGetAction, Probe, TCPSocketAction
from cri.errors import CRIError, DeadlineExceeded
from kubelet.probes.types import ExecRuntime, ProbeError, ProbeOutcome, ProbeTarget, failure, success

USER_AGENT = "kube-probe/1.36"
MAX_REDIRECTS = 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_BODY_BYTES = 10 * 1024
EXEC_RPC_MARGIN_S = 5.0
DEFAULT_TIMEOUT_S = 1


class ProbeRunner:
    """Runs probes against containers; one per kubelet (it owns the HTTP connection settings)."""

    def __init__(self, runtime: ExecRuntime) -> None:
        self.runtime = runtime
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ProbeRunner:
        # No keep-alive: every probe opens a fresh connection, as the kubelet's prober does.
        connector = aiohttp.TCPConnector(force_close=True, ssl=False)
        self._http = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run(self, probe: Probe, target: ProbeTarget) -> ProbeOutcome:
        timeout = probe.timeout_seconds or DEFAULT_TIMEOUT_S
        if probe.exec is not None:
            return await self._exec(probe.exec, target, timeout)
        if probe.http_get is not None:
            return await self._http_get(probe.http_get, target, timeout)
        if probe.tcp_socket is not None:
            return await tcp_socket(probe.tcp_socket, target, timeout)
        if probe.grpc is not None:
            return await grpc_health(probe.grpc, target, timeout)
        raise ProbeError("probe has no handler (exec, httpGet, tcpSocket or grpc)")

    async def _exec(self, action: ExecAction, target: ProbeTarget, timeout: int) -> ProbeOutcome:
        if not action.command:
            raise ProbeError("exec probe has an empty command")
        try:
            result = await self.runtime.exec_sync(
                target.container_id,
                list(action.command),
                exec_timeout=timeout,
                timeout=timeout + EXEC_RPC_MARGIN_S,
            )
        except DeadlineExceeded:
            return failure(f"command {list(action.command)} timed out")
        except CRIError as exc:
            raise ProbeError(f"exec probe: {exc}") from exc
        if result.exit_code == 0:
            return success(_text(result.stdout))
        message = f"command {list(action.command)} exited with {result.exit_code}"
        output = _text(result.stdout + result.stderr)
        return failure(f"{message}: {output}" if output else message)

    async def _http_get(self, action: HTTPGetAction, target: ProbeTarget, timeout: int) -> ProbeOutcome:
        url = URL(http_url(action, target))
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        headers.update({h.name: h.value for h in action.http_headers or ()})
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(url, headers)
        except TimeoutError:
            return failure(f"Get {str(url)!r}: context deadline exceeded (timeout {timeout}s)")
        except (aiohttp.ClientError, OSError) as exc:
            return failure(f"Get {str(url)!r}: {exc}")

    async def _follow(self, url: URL, headers: dict[str, str]) -> ProbeOutcome:
        """Follows redirects on the same host only; one to another host ends the probe with the
        redirect's own (3xx, so successful) status, as the kubelet does."""
        for _ in range(MAX_REDIRECTS + 1):
            status, location, body = await self._get_once(url, headers)
            if status not in REDIRECTS or location is None:
                if 200 <= status < 400:
                    return success(_text(body))
                return failure(f"HTTP probe failed with statuscode: {status}")
            target = url.join(URL(location))
            if target.host != url.host:
                return success(f"Probe terminated redirects, Response body: {_text(body)}")
            url = target
        return failure(f"Get {str(url)!r}: stopped after {MAX_REDIRECTS} redirects")

    async def _get_once(self, url: URL, headers: dict[str, str]) -> tuple[int, str | None, bytes]:
        if self._http is None:
            raise ProbeError("ProbeRunner used outside 'async with'")
        async with self._http.get(url, headers=headers, allow_redirects=False) as response:
            return (
                response.status,
                response.headers.get("Location"),
                await response.content.read(MAX_BODY_BYTES),
            )


def http_url(action: HTTPGetAction, target: ProbeTarget) -> str:
    scheme = (action.scheme or "HTTP").lower()
    if scheme not in ("http", "https"):
        raise ProbeError(f"unsupported scheme {action.scheme!r}")
    host = action.host or target.pod_ip
    if not host:
        raise ProbeError("httpGet probe has no host and the pod has no IP")
    if ":" in host:
        host = f"[{host}]"
    path = action.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{host}:{target.port(action.port)}{path}"


async def tcp_socket(action: TCPSocketAction, target: ProbeTarget, timeout: int) -> ProbeOutcome:
    host = action.host or target.pod_ip
    if not host:
        raise ProbeError("tcpSocket probe has no host and the pod has no IP")
    port = target.port(action.port)
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
    except TimeoutError:
        return failure(f"dial tcp {host}:{port}: i/o timeout")
    except OSError as exc:
        return failure(f"dial tcp {host}:{port}: {exc.strerror or exc}")
    return success()


async def grpc_health(action: GRPCAction, target: ProbeTarget, timeout: int) -> ProbeOutcome:
    if not target.pod_ip:
        raise ProbeError("grpc probe needs the pod IP")
    host = f"[{target.pod_ip}]" if ":" in target.pod_ip else target.pod_ip
    address = f"{host}:{target.port(action.port)}"
    request = health_pb2.HealthCheckRequest(service=action.service or "")
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = await stub.Check(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return failure(f"timeout: health rpc did not complete within {timeout}s")
            return failure(f"rpc error: code = {exc.code().name} desc = {exc.details()}")
    if response.status == health_pb2.HealthCheckResponse.SERVING:
        return success()
    status_name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return failure(f"service unhealthy (responded with {status_name!r})")


def _text(data: bytes) -> str:
    return data[:MAX_BODY_BYTES].decode(errors="replace").strip()
