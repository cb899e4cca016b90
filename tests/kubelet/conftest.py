"""A kubelet driving the fake runtime over a real CRI unix socket, with its directories in tmp_path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from api.core.v1.pods import pod_uid
from api.model.core_v1 import PodStatus
from cri.client import CRIClient
from kubelet.config import KubeletConfiguration
from kubelet.node import Kubelet, build_kubelet, running
from shims.fake import FakeImages, FakeRuntime
from tests.kubelet.fake_cri import serve_fake

WAIT_S = 20.0
NODE = "node1"


@dataclass
class Node:
    runtime: FakeRuntime
    images: FakeImages
    client: CRIClient
    config: KubeletConfiguration
    manifests: Path
    kubelet: Kubelet = field(init=False)
    lifetime: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def start_kubelet(self) -> Kubelet:
        self.kubelet = build_kubelet(self.config, self.client)
        return await self.lifetime.enter_async_context(running(self.kubelet))

    def write(self, filename: str, text: str) -> None:
        temporary = self.manifests / f".{filename}.tmp"
        temporary.write_text(text)
        temporary.rename(self.manifests / filename)

    def status(self, name: str) -> PodStatus | None:
        pod = self.kubelet.find_pod("default", f"{name}-{NODE}")
        return None if pod is None else self.kubelet.statuses.get(pod_uid(pod))

    async def wait_for(self, what: str, predicate: Callable[[], object], timeout: float = WAIT_S) -> None:
        """Waits, bounded, for a condition on kubelet state; fails naming what did not happen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def wait_phase(self, name: str, phase: str) -> PodStatus:
        await self.wait_for(
            f"{name} {phase}", lambda: (s := self.status(name)) is not None and s.phase == phase
        )
        status = self.status(name)
        assert status is not None
        return status

    async def crash_and_restart(self, container_id: str, exit_code: int = 1) -> str:
        """The container exits; the id of the instance the kubelet starts in its place."""
        before = set(self.runtime.containers)
        self.runtime.exit_container(container_id, exit_code)
        await self.wait_for("a restart", lambda: len(self.runtime.containers) > len(before))
        return next(c for c in self.runtime.containers if c not in before)

    async def restart_kubelet(self) -> Kubelet:
        await self.lifetime.aclose()
        return await self.start_kubelet()


def test_config(tmp_path: Path) -> KubeletConfiguration:
    manifests = tmp_path / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    return KubeletConfiguration(
        static_pod_path=str(manifests),
        root_dir=str(tmp_path / "root"),
        pod_logs_dir=str(tmp_path / "pods"),
        container_logs_dir=str(tmp_path / "containers"),
        file_check_frequency="100ms",
        sync_frequency="10s",
        node_name=NODE,
        node_ip="192.0.2.10",
    )


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async with serve_fake(tmp_path) as cri:
        config = test_config(tmp_path)
        node = Node(cri.runtime, cri.images, cri.client, config, Path(config.static_pod_path))
        async with node.lifetime:
            await node.start_kubelet()
            yield node
