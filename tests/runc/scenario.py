"""CRI configs the runc shim tests use, as the kubelet would send them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

from cri import domain as d
from cri.client import CRIClient

IMAGE = "docker.io/library/busybox:1.36"
WAIT_SECONDS = 20.0


def pod_config(
    name: str, log_dir: Path, *, port_mappings: tuple[d.PortMapping, ...] = ()
) -> d.PodSandboxConfig:
    uid = uuid.uuid4().hex
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=name, namespace="default", uid=uid, attempt=0),
        hostname=name,
        log_directory=str(log_dir / uid),
        port_mappings=port_mappings,
        labels={"io.kubernetes.pod.name": name, "app": "runc-test"},
        linux=d.LinuxPodSandboxConfig(),
    )


def container_config(name: str, *command: str) -> d.ContainerConfig:
    return d.ContainerConfig(
        metadata=d.ContainerMetadata(name=name),
        image=d.ImageSpec(image=IMAGE),
        command=command,
        log_path=f"{name}/0.log",
        labels={"io.kubernetes.container.name": name},
        linux=d.LinuxContainerConfig(
            security_context=d.LinuxContainerSecurityContext(
                seccomp=d.SecurityProfile(profile_type=d.SecurityProfileProfileType.RuntimeDefault)
            )
        ),
    )


async def run_container(
    client: CRIClient, pod_id: str, pod: d.PodSandboxConfig, config: d.ContainerConfig
) -> str:
    container_id = await client.create_container(pod_id, config, pod)
    await client.start_container(container_id)
    return container_id


async def wait_until(predicate: Callable[[], object], *, what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll a cheap condition (a status RPC, a file) until it holds; fail naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
