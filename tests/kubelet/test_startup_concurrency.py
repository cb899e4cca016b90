"""A burst of pods: a few start at a time, and they share one ImageStatus per image."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.core.v1.pods import pod_uid
from cri import domain as d
from kubelet.actions import ProbeVerdicts, compute_pod_actions
from kubelet.apply import PodApplier
from kubelet.backoff import Backoff
from kubelet.images import ImagePuller
from kubelet.runtime_view import RuntimePod
from kubelet.sandbox_config import NodeSettings
from kubelet.volumes import VolumeManager

from .fake_cri import FakeCRI, serve_fake, wait_until
from .podspecs import make_pod


@pytest.fixture
async def cri(tmp_path: Path) -> AsyncIterator[FakeCRI]:
    async with serve_fake(tmp_path) as served:
        yield served


class Gate:
    """Holds every call of a wrapped client method until released; counts calls in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.calls = 0
        self.released = asyncio.Event()

    def wrap(self, method: Any) -> Any:
        async def held(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await self.released.wait()
                return await method(*args, **kwargs)
            finally:
                self.in_flight -= 1

        return held


async def test_a_burst_of_pods_creates_sandboxes_a_few_at_a_time(
    cri: FakeCRI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(cri.client, "run_pod_sandbox", gate.wrap(cri.client.run_pod_sandbox))
    applier = PodApplier(
        cri.client,
        settings=NodeSettings(node_name="node1", pod_logs_dir=str(tmp_path / "pods")),
        volumes=VolumeManager(tmp_path / "root"),
        images=ImagePuller(cri.client),
        backoff=Backoff(),
        max_parallel_starts=2,
    )
    pods = [make_pod(f"web-{i}", uid=f"uid-{i}") for i in range(6)]

    async def start(pod: Any) -> None:
        runtime = RuntimePod(uid=pod_uid(pod))
        actions = compute_pod_actions(pod, runtime, probes=ProbeVerdicts(), backoff=Backoff(), now=0.0)
        result = await applier.apply(pod, actions, runtime)
        assert result.started == ("app",), result.waiting

    burst = asyncio.gather(*(start(pod) for pod in pods))
    await wait_until("two sandboxes being created", lambda: gate.in_flight >= 2)
    gate.released.set()
    await asyncio.wait_for(burst, 20)
    assert gate.most_in_flight == 2
    containers = await cri.client.list_containers()
    assert [c.state for c in containers] == [d.ContainerState.CONTAINER_RUNNING] * 6


async def test_pods_starting_together_share_one_image_status_call(
    cri: FakeCRI, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(cri.client, "image_status", gate.wrap(cri.client.image_status))
    puller = ImagePuller(cri.client)
    config = d.PodSandboxConfig()
    together = asyncio.gather(*(puller.ensure("busybox:1.36", "IfNotPresent", config) for _ in range(5)))
    await wait_until("the first image status call", lambda: gate.in_flight >= 1)
    gate.released.set()
    await asyncio.wait_for(together, 20)
    assert gate.calls == 1
    await puller.ensure("busybox:1.36", "IfNotPresent", config)
    assert gate.calls == 2, "a check after the shared one has completed asks the runtime again"
    assert "pull_image" not in cri.images.faults.count()
