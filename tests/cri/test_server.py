"""The CRI server: socket permissions, health, metrics, graceful stop."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cri import domain as d
from cri.server import CRIServer, ServerOptions
from cri.v1 import api_pb2 as pb
from shims.fake import FakeImages, FakeRuntime
from tests.cri.conftest import Served
from tests.runc.scenario import wait_until


def test_socket_is_0660_in_a_0750_directory(served: Served) -> None:
    assert stat.S_IMODE(served.socket.stat().st_mode) == 0o660
    assert stat.S_IMODE(served.socket.parent.stat().st_mode) == 0o750
    assert stat.S_ISSOCK(served.socket.stat().st_mode)


async def test_health_reports_both_cri_services_serving(served: Served) -> None:
    async with grpc.aio.insecure_channel(f"unix://{served.socket}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "runtime.v1.RuntimeService", "runtime.v1.ImageService"):
            response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_metrics_count_rpcs_by_code(served: Served) -> None:
    await served.client.version()
    await served.client.stop_container("0123456789ab")
    families = {m.name: m for m in served.server.metrics.registry.collect()}
    samples = {
        (s.labels["method"], s.labels["code"]): s.value
        for s in families["cri_rpc"].samples
        if s.name == "cri_rpc_total"
    }
    assert samples[("Version", "OK")] == 1
    assert samples[("StopContainer", "OK")] == 1


async def test_an_event_stream_the_client_leaves_ends_cancelled_not_internal(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended: asyncio.Queue[str] = asyncio.Queue()
    observe = served.server.metrics.observe

    def observed(method: str, code: grpc.StatusCode, seconds: float) -> None:
        observe(method, code, seconds)
        if method == "GetContainerEvents":
            ended.put_nowait(code.name)

    monkeypatch.setattr(served.server.metrics, "observe", observed)
    call = served.client.raw_runtime.GetContainerEvents(pb.GetEventsRequest())
    await wait_until(lambda: served.runtime.events.subscriber_count > 0, what="the event stream to open")
    await served.client.run_pod_sandbox(
        d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="p", namespace="n", uid="u"))
    )
    event = await asyncio.wait_for(call.read(), 10)
    assert event.pod_sandbox_status.metadata.name == "p"
    call.cancel()
    assert await asyncio.wait_for(ended.get(), 10) == "CANCELLED"


async def test_metrics_are_served_over_http() -> None:
    server = CRIServer(
        FakeRuntime(), FakeImages(), ServerOptions(tcp_address="127.0.0.1:0", metrics_address="127.0.0.1:0")
    )
    await server.start()
    try:
        port = server.metrics_port
        assert port is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as reply,
        ):
            body = await reply.text()
        assert "cri_rpc_duration_seconds" in body
    finally:
        await server.stop()


async def test_stop_removes_the_socket(served: Served) -> None:
    await served.server.stop()
    assert not served.socket.exists()


async def test_a_stream_that_times_out_answers_and_counts_deadline_exceeded(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def timing_out() -> AsyncIterator[d.ContainerEvent]:
        raise TimeoutError
        yield  # an async generator, as a backend's event stream is

    monkeypatch.setattr(served.runtime, "container_events", timing_out)
    call = served.client.raw_runtime.GetContainerEvents(pb.GetEventsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as answered:
        await asyncio.wait_for(call.read(), 10)
    assert answered.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    def counted() -> float:
        samples = next(m for m in served.server.metrics.registry.collect() if m.name == "cri_rpc").samples
        labels = {"method": "GetContainerEvents", "code": "DEADLINE_EXCEEDED"}
        return sum(s.value for s in samples if s.name == "cri_rpc_total" and s.labels == labels)

    await wait_until(lambda: counted() == 1, what="the stream's end to be counted")
