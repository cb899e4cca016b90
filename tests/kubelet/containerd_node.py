"""A kubelet in this process driving a real CRI runtime: containerd's own CRI plugin (as started by
.ci/services.sh) or our runc shim."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cri.client import CRIClient
from kubelet.config import KubeletConfiguration
from kubelet.node import Kubelet

from .conftest import Node, test_config

CONTAINERD = "unix:///run/containerd/containerd.sock"
MANIFESTS = Path(__file__).parent / "manifests"
CLEANUP_S = 60.0


@dataclass
class RealNode:
    node: Node
    host_dir: Path

    def install(self, name: str) -> None:
        text = (MANIFESTS / f"{name}.yaml").read_text().replace("HOST_DIR", str(self.host_dir))
        self.node.write(f"{name}.yaml", text)


async def _drain(kubelet: Kubelet) -> None:
    """Terminates every pod the kubelet runs and waits, bounded, until the runtime is free of them."""
    kubelet.on_pods({})
    async with asyncio.timeout(CLEANUP_S):
        while kubelet.workers.known():
            kubelet.workers.terminated.clear()
            await kubelet.workers.terminated.wait()


@contextlib.asynccontextmanager
async def containerd_node(tmp_path: Path, *, endpoint: str = CONTAINERD) -> AsyncIterator[RealNode]:
    client = await CRIClient.connect(endpoint, timeout=60)
    config: KubeletConfiguration = test_config(tmp_path)
    config = KubeletConfiguration(**{**config.__dict__, "container_runtime_endpoint": endpoint})
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    no_fake = cast(Any, None)  # the fake's handles are unused against containerd
    node = Node(no_fake, no_fake, client, config, Path(config.static_pod_path))
    try:
        async with node.lifetime:
            await node.start_kubelet()
            try:
                yield RealNode(node=node, host_dir=host_dir)
            finally:
                for manifest in node.manifests.iterdir():
                    manifest.unlink()
                await _drain(node.kubelet)
    finally:
        await client.close()
