"""A host-network busybox pod on containerd's CRI plugin, for integration tests of node subsystems."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d
from cri.client import CRIClient

CONTAINERD = os.environ.get("TINYKUBE_CONTAINERD_ENDPOINT", "unix:///run/containerd/containerd.sock")
BUSYBOX = "docker.io/library/busybox:1.36"
HOST_NETWORK = d.LinuxPodSandboxConfig(
    security_context=d.LinuxSandboxSecurityContext(
        namespace_options=d.NamespaceOption(network=d.NamespaceMode.NODE)
    )
)


POLL_S = 0.1


async def eventually(check: Callable[[], Awaitable[bool]], *, within_s: float) -> None:
    """Polls a condition another process makes true (no event to wait on), bounded by ``within_s``."""
    async with asyncio.timeout(within_s):
        while True:
            if await check():
                return
            await asyncio.sleep(POLL_S)


@dataclass(frozen=True, kw_only=True)
class RealPod:
    client: CRIClient
    sandbox_id: str
    sandbox: d.PodSandboxConfig
    log_dir: Path

    async def start(self, name: str, *command: str) -> str:
        config = d.ContainerConfig(
            metadata=d.ContainerMetadata(name=name),
            image=d.ImageSpec(image=BUSYBOX),
            command=command,
            log_path=f"{name}/0.log",
        )
        container_id = await self.client.create_container(self.sandbox_id, config, self.sandbox)
        await self.client.start_container(container_id)
        return container_id


@asynccontextmanager
async def host_network_pod(log_dir: Path) -> AsyncIterator[RealPod]:
    """A ready sandbox in the host network namespace (no CNI), removed with its containers afterwards."""
    client = await CRIClient.connect(CONTAINERD, timeout=60)
    uid = uuid.uuid4().hex
    sandbox = d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=f"tinykube-test-{uid[:8]}", uid=uid, namespace="tinykube-tests"),
        log_directory=str(log_dir),
        linux=HOST_NETWORK,
    )
    sandbox_id = ""
    try:
        await client.pull_image(BUSYBOX)
        sandbox_id = await client.run_pod_sandbox(sandbox)
        yield RealPod(client=client, sandbox_id=sandbox_id, sandbox=sandbox, log_dir=log_dir)
    finally:
        if sandbox_id:
            await client.stop_pod_sandbox(sandbox_id)
            await client.remove_pod_sandbox(sandbox_id)
        await client.close()
