# mypy: disable-error-code="union-attr, misc, index, arg-type"
"""The kubelet HTTP API as clients use it: the official client reads /pods, logs follow, auth."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from kubernetes.client import ApiClient, V1PodList

from api.core.v1.pods import annotations_of, pod_meta, pod_spec
from cri.crilog import LogRecord, format_record
from kubelet.config import ConfigError
from kubelet.server import KubeletServer, ServerAuth

from .conftest import NODE, Node
from .test_kubelet_fake import WEB


@pytest.fixture
async def api(node: Node) -> AsyncIterator[str]:
    server = KubeletServer(node.kubelet, dataclasses.replace(node.config, port=0), ServerAuth())
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def _get(url: str, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.text()


async def _status_message(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, (await response.json())["message"]


async def test_pods_deserialise_into_the_official_v1_pod_list(node: Node, api: str) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    code, body = await _get(f"{api}/pods")
    assert code == 200
    pods = ApiClient().deserialize(body, "V1PodList", "application/json")
    assert isinstance(pods, V1PodList)
    [pod] = pods.items
    assert pod_meta(pod).name == f"web-{NODE}"
    assert annotations_of(pod)["kubernetes.io/config.source"] == "file"
    assert pod_spec(pod).node_name == NODE
    assert pod.status.phase == "Running"
    assert pod.status.pod_ip and pod.status.host_ip == "192.0.2.10"
    assert pod.status.start_time is not None
    assert {c.type for c in pod.status.conditions} >= {
        "Ready",
        "ContainersReady",
        "Initialized",
        "PodScheduled",
    }
    [container] = pod.status.container_statuses
    assert container.ready and container.started and container.state.running.started_at is not None
    assert container.container_id and container.image == "busybox:1.36" and container.image_id
    assert pod.status.qos_class == "BestEffort"


def _append(path: Path, *lines: str) -> None:
    with path.open("ab") as log_file:
        for index, line in enumerate(lines):
            record = LogRecord(
                timestamp=1_700_000_000_000_000_000 + index,
                stream="stdout",
                partial=False,
                content=line.encode(),
            )
            log_file.write(format_record(record))


async def test_container_logs_tail_and_follow(node: Node, api: str) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    [record] = node.runtime.containers.values()
    log_path = Path(record.log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _append(log_path, "one", "two", "three")
    url = f"{api}/containerLogs/default/web-{NODE}/app"
    assert await _get(f"{url}?tailLines=2") == (200, "two\nthree\n")
    code, text = await _get(f"{url}?tailLines=1&timestamps=true")
    assert code == 200 and text.endswith(" three\n") and text.startswith("2023-11-14T22:13:20")
    async with aiohttp.ClientSession() as session, session.get(f"{url}?follow=true&tailLines=1") as response:
        assert await asyncio.wait_for(response.content.readline(), 10) == b"three\n"
        _append(log_path, "four")
        assert await asyncio.wait_for(response.content.readline(), 10) == b"four\n"
        node.runtime.exit_container(record.id, 0)
        rest = await asyncio.wait_for(response.content.read(), 10)
        assert rest == b""


async def test_bad_log_requests_are_precise(node: Node, api: str) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    base = f"{api}/containerLogs/default"
    assert await _status_message(f"{base}/web-{NODE}/app?tailLines=-3") == (
        400,
        "tailLines must not be negative",
    )
    assert await _status_message(f"{base}/nope/app") == (404, 'pod "nope" not found in namespace "default"')
    code, message = await _status_message(f"{base}/web-{NODE}/app?previous=true")
    assert (code, message) == (404, f'previous terminated container "app" in pod "web-{NODE}" not found')


async def test_healthz_runningpods_and_metrics(node: Node, api: str) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    assert await _get(f"{api}/healthz") == (200, "ok")
    code, body = await _get(f"{api}/runningpods/")
    pods = ApiClient().deserialize(body, "V1PodList", "application/json")
    assert code == 200 and [p.metadata.name for p in pods.items] == [f"web-{NODE}"]
    code, body = await _get(f"{api}/metrics")
    assert code == 200 and "kubelet_running_pods 1.0" in body


async def test_token_is_required_when_configured(node: Node, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    config = dataclasses.replace(node.config, port=0, authentication_token_file=str(token_file))
    server = KubeletServer(node.kubelet, config, ServerAuth.from_config(config))
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert (await _get(f"{base}/pods"))[0] == 401
        assert (await _get(f"{base}/pods", Authorization="Bearer wrong"))[0] == 401
        assert (await _get(f"{base}/pods", Authorization="Bearer s3cret"))[0] == 200
    finally:
        await server.stop()


def test_non_loopback_address_needs_authentication(node: Node) -> None:
    with pytest.raises(ConfigError, match="not loopback"):
        ServerAuth.from_config(dataclasses.replace(node.config, address="0.0.0.0"))
