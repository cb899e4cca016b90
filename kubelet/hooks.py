"""postStart and preStop hooks (exec, httpGet, sleep) and the HTTP/TCP/exec checks probes share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from api.model.core_v1 import Container, ExecAction, HTTPGetAction, LifecycleHandler
from cri.client import CRIClient
from cri.errors import CRIError


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    ok: bool
    message: str = ""


def resolve_port(port: int | str, container: Container) -> int:
    if isinstance(port, int):
        return port
    for declared in container.ports or ():
        if declared.name == port:
            return declared.container_port
    raise ValueError(f"port {port!r} is not a named port of container {container.name!r}")


async def run_exec(
    client: CRIClient, container_id: str, action: ExecAction, *, timeout_s: int
) -> CheckResult:
    try:
        result = await client.exec_sync(container_id, list(action.command or ()), exec_timeout=timeout_s)
    except CRIError as exc:
        return CheckResult(ok=False, message=exc.message)
    output = (result.stdout + result.stderr).decode(errors="replace")
    return CheckResult(ok=result.exit_code == 0, message=output if result.exit_code else "")


async def run_http_get(
    action: HTTPGetAction, container: Container, pod_ip: str, *, timeout_s: float
) -> CheckResult:
    try:
        port = resolve_port(action.port, container)
    except ValueError as exc:
        return CheckResult(ok=False, message=str(exc))
    host = action.host or pod_ip
    scheme = (action.scheme or "HTTP").lower()
    url = f"{scheme}://{host}:{port}{action.path or '/'}"
    headers = {"User-Agent": "kube-probe/1.32", **{h.name: h.value for h in action.http_headers or ()}}
    import aiohttp  # only pods with httpGet probes or hooks pay for it (~4 MiB)

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url, headers=headers, ssl=False, allow_redirects=True) as response,
        ):
            await response.read()
            ok = 200 <= response.status < 400
            return CheckResult(
                ok=ok, message="" if ok else f"HTTP probe failed with statuscode: {response.status}"
            )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return CheckResult(ok=False, message=f'Get "{url}": {exc or type(exc).__name__}')


async def run_tcp(host: str, port: int, *, timeout_s: float) -> CheckResult:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        return CheckResult(ok=False, message=f"dial tcp {host}:{port}: {exc or 'timeout'}")
    writer.close()
    return CheckResult(ok=True)


async def run_hook(
    client: CRIClient,
    handler: LifecycleHandler,
    *,
    container: Container,
    container_id: str,
    pod_ip: str,
    timeout_s: int,
) -> CheckResult:
    if handler.exec is not None:
        return await run_exec(client, container_id, handler.exec, timeout_s=timeout_s)
    if handler.http_get is not None:
        return await run_http_get(handler.http_get, container, pod_ip, timeout_s=timeout_s)
    if handler.sleep is not None:
        await asyncio.sleep(min(handler.sleep.seconds, timeout_s))
        return CheckResult(ok=True)
    return CheckResult(ok=True)
