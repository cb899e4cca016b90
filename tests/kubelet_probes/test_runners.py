"""Probe runners against real local servers on 127.0.0.1 and the fake runtime's exec handler."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]  # re-exported at runtime

from api.model.core_v1 import (
    ExecAction,
    GRPCAction,
    HTTPGetAction,
    HTTPHeader,
    Probe,
    TCPSocketAction,
)
from cri import domain as d
from cri.client import CRIClient
from cri.errors import DeadlineExceeded, NotFound
from cri.server import CRIServer, ServerOptions
from kubelet.probes.runners import ProbeRunner
from kubelet.probes.types import ProbeError, ProbeResult, ProbeTarget
from shims.fake import FakeImages, FakeRuntime

LOOPBACK = "127.0.0.1"


@dataclass
class Node:
    runtime: FakeRuntime
    runner: ProbeRunner
    container_id: str

    def target(self, *, pod_ip: str = LOOPBACK, **ports: int) -> ProbeTarget:
        return ProbeTarget(container_id=self.container_id, pod_ip=pod_ip, named_ports=tuple(ports.items()))


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    images = FakeImages()
    runtime = FakeRuntime(images, images.faults)
    server = CRIServer(runtime, images, ServerOptions(socket=tmp_path / "cri.sock"))
    await server.start()
    client = await CRIClient.connect(str(tmp_path / "cri.sock"), timeout=10)
    try:
        container_id = await _running_container(client, images)
        async with ProbeRunner(client) as runner:
            yield Node(runtime, runner, container_id)
    finally:
        await client.close()
        await server.stop()


async def _running_container(client: CRIClient, images: FakeImages) -> str:
    images.add_image("busybox:1.36")
    sandbox = d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="web", uid="u1", namespace="default"))
    sandbox_id = await client.run_pod_sandbox(sandbox)
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name="app"), image=d.ImageSpec(image="busybox:1.36")
    )
    container_id = await client.create_container(sandbox_id, config, sandbox)
    await client.start_container(container_id)
    return container_id


# exec


async def test_exec_probe_succeeds_on_exit_zero_and_runs_the_probe_command(node: Node) -> None:
    seen: list[tuple[str, ...]] = []

    def handler(cid: str, cmd: tuple[str, ...]) -> d.ExecSyncResult:
        seen.append(cmd)
        return d.ExecSyncResult(stdout=b"healthy\n", exit_code=0)

    node.runtime.exec_handler = handler
    outcome = await node.runner.run(Probe(exec=ExecAction(command=("cat", "/tmp/healthy"))), node.target())
    assert outcome.result is ProbeResult.SUCCESS
    assert seen == [("cat", "/tmp/healthy")]


async def test_exec_probe_passes_the_probe_timeout_to_the_runtime(node: Node) -> None:
    node.runtime.exec_handler = lambda cid, cmd: d.ExecSyncResult(exit_code=0)
    await node.runner.run(Probe(exec=ExecAction(command=("true",)), timeout_seconds=7), node.target())
    (call,) = [c for c in node.runtime.faults.calls if c.method == "exec_sync"]
    assert call.args[-1] == 7


async def test_exec_probe_fails_on_nonzero_exit_with_the_output(node: Node) -> None:
    node.runtime.exec_handler = lambda cid, cmd: d.ExecSyncResult(stderr=b"no such file\n", exit_code=1)
    outcome = await node.runner.run(Probe(exec=ExecAction(command=("cat", "/x"))), node.target())
    assert outcome.result is ProbeResult.FAILURE
    assert "exited with 1" in outcome.message and "no such file" in outcome.message


async def test_exec_probe_timing_out_is_a_failure(node: Node) -> None:
    node.runtime.faults.fail_next("exec_sync", DeadlineExceeded("command timed out"))
    outcome = await node.runner.run(Probe(exec=ExecAction(command=("sleep", "9"))), node.target())
    assert outcome.result is ProbeResult.FAILURE
    assert "timed out" in outcome.message


async def test_exec_probe_the_runtime_cannot_run_is_an_error_not_a_result(node: Node) -> None:
    node.runtime.faults.fail_next("exec_sync", NotFound("container gone"))
    with pytest.raises(ProbeError, match="container gone"):
        await node.runner.run(Probe(exec=ExecAction(command=("true",))), node.target())


# httpGet


@pytest.fixture
async def http_port() -> AsyncIterator[int]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="fine")

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=503, text="warming up")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def headers(request: web.Request) -> web.Response:
        wanted = request.headers.get("X-Probe") == "yes"
        agent = request.headers.get("User-Agent", "").startswith("kube-probe/")
        return web.Response(status=200 if wanted and agent else 400)

    async def hang(request: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/fail", fail)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/away", away)
    app.router.add_get("/headers", headers)
    app.router.add_get("/hang", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def http_probe(path: str, port: int | str, **extra: object) -> Probe:
    return Probe(http_get=HTTPGetAction(path=path, port=port, **extra), timeout_seconds=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "expected"), [("/ok", ProbeResult.SUCCESS), ("/fail", ProbeResult.FAILURE)])
async def test_http_probe_success_is_a_2xx_or_3xx_status(
    node: Node, http_port: int, path: str, expected: ProbeResult
) -> None:
    outcome = await node.runner.run(http_probe(path, http_port), node.target())
    assert outcome.result is expected


async def test_http_probe_failure_names_the_status(node: Node, http_port: int) -> None:
    outcome = await node.runner.run(http_probe("/fail", http_port), node.target())
    assert outcome.message == "HTTP probe failed with statuscode: 503"


async def test_http_probe_follows_redirects_but_not_forever(node: Node, http_port: int) -> None:
    assert (
        await node.runner.run(http_probe("/redirect", http_port), node.target())
    ).result is ProbeResult.SUCCESS
    looping = await node.runner.run(http_probe("/loop", http_port), node.target())
    assert looping.result is ProbeResult.FAILURE and "redirects" in looping.message


async def test_http_probe_does_not_follow_a_redirect_to_another_host(node: Node, http_port: int) -> None:
    hits: list[str] = []

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/{tail:.*}", elsewhere)
    other = web.AppRunner(app, shutdown_timeout=0.1)
    await other.setup()
    await web.TCPSite(other, "127.0.0.2", 0).start()
    try:
        other_port = other.addresses[0][1]
        probe = http_probe(f"/away?to=http://127.0.0.2:{other_port}/x", http_port)
        outcome = await node.runner.run(probe, node.target())
    finally:
        await other.cleanup()
    assert outcome.result is ProbeResult.SUCCESS and "terminated redirects" in outcome.message
    assert hits == []


async def test_http_probe_sends_custom_headers_and_the_probe_user_agent(node: Node, http_port: int) -> None:
    probe = http_probe("/headers", http_port, http_headers=(HTTPHeader(name="X-Probe", value="yes"),))
    assert (await node.runner.run(probe, node.target())).result is ProbeResult.SUCCESS
    assert (
        await node.runner.run(http_probe("/headers", http_port), node.target())
    ).result is ProbeResult.FAILURE


async def test_http_probe_resolves_named_ports_and_an_explicit_host(node: Node, http_port: int) -> None:
    probe = http_probe("/ok", "web", host=LOOPBACK)
    outcome = await node.runner.run(probe, node.target(pod_ip="", web=http_port))
    assert outcome.result is ProbeResult.SUCCESS


async def test_http_probe_with_an_unknown_named_port_is_an_error(node: Node) -> None:
    with pytest.raises(ProbeError, match="unknown named port 'metrics'"):
        await node.runner.run(http_probe("/ok", "metrics"), node.target())


async def test_http_probe_that_hangs_fails_at_its_timeout(node: Node, http_port: int) -> None:
    outcome = await node.runner.run(http_probe("/hang", http_port), node.target())
    assert outcome.result is ProbeResult.FAILURE and "deadline exceeded" in outcome.message


async def test_http_probe_refused_connection_is_a_failure(node: Node) -> None:
    outcome = await node.runner.run(http_probe("/", closed_port()), node.target())
    assert outcome.result is ProbeResult.FAILURE


# tcpSocket


def closed_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind((LOOPBACK, 0))
        port: int = probe_socket.getsockname()[1]
    return port


async def test_tcp_probe_succeeds_when_the_port_accepts(node: Node) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        outcome = await node.runner.run(Probe(tcp_socket=TCPSocketAction(port=port)), node.target())
    assert outcome.result is ProbeResult.SUCCESS


async def test_tcp_probe_fails_when_nothing_listens(node: Node) -> None:
    port = closed_port()
    outcome = await node.runner.run(Probe(tcp_socket=TCPSocketAction(port=port)), node.target())
    assert outcome.result is ProbeResult.FAILURE and f"{LOOPBACK}:{port}" in outcome.message


# grpc


@pytest.fixture
async def grpc_health_server() -> AsyncIterator[tuple[int, health_aio.HealthServicer]]:
    server = grpc.aio.server()
    servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    await server.start()
    try:
        yield port, servicer
    finally:
        await server.stop(None)


async def test_grpc_probe_follows_the_serving_status(
    node: Node, grpc_health_server: tuple[int, health_aio.HealthServicer]
) -> None:
    port, servicer = grpc_health_server
    probe = Probe(grpc=GRPCAction(port=port, service="api"), timeout_seconds=5)
    await servicer.set("api", health_pb2.HealthCheckResponse.SERVING)
    assert (await node.runner.run(probe, node.target())).result is ProbeResult.SUCCESS
    await servicer.set("api", health_pb2.HealthCheckResponse.NOT_SERVING)
    outcome = await node.runner.run(probe, node.target())
    assert outcome.result is ProbeResult.FAILURE and "NOT_SERVING" in outcome.message


async def test_grpc_probe_of_an_unknown_service_fails(
    node: Node, grpc_health_server: tuple[int, health_aio.HealthServicer]
) -> None:
    port, _ = grpc_health_server
    outcome = await node.runner.run(Probe(grpc=GRPCAction(port=port, service="nope")), node.target())
    assert outcome.result is ProbeResult.FAILURE and "NOT_FOUND" in outcome.message


async def test_probe_without_a_handler_is_an_error(node: Node) -> None:
    with pytest.raises(ProbeError, match="no handler"):
        await node.runner.run(Probe(), node.target())
