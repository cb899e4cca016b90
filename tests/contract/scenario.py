"""Building blocks of the contract suite: pod and container configs as the kubelet writes them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from cri import domain as d
from cri.client import CRIClient

IMAGE = "docker.io/library/busybox:1.36"
_counter = itertools.count()


def sandbox_config(
    name: str = "", *, labels: dict[str, str] | None = None, log_dir: str = ""
) -> d.PodSandboxConfig:
    name = name or f"contract-{next(_counter)}"
    uid = str(uuid.uuid4())
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=name, namespace="contract", uid=uid, attempt=0),
        hostname=name,
        log_directory=log_dir or f"/tmp/tinykube-contract/{uid}",
        labels={
            "io.kubernetes.pod.name": name,
            "io.kubernetes.pod.namespace": "contract",
            "io.kubernetes.pod.uid": uid,
            **(labels or {}),
        },
        annotations={"contract/annotation": "kept byte for byte ✓"},
        linux=d.LinuxPodSandboxConfig(),
    )


def container_config(name: str = "main", *, labels: dict[str, str] | None = None) -> d.ContainerConfig:
    return d.ContainerConfig(
        metadata=d.ContainerMetadata(name=name, attempt=0),
        image=d.ImageSpec(image=IMAGE),
        command=("sleep", "3600"),
        log_path=f"{name}/0.log",
        labels={"io.kubernetes.container.name": name, **(labels or {})},
        annotations={"contract/container": "annotation"},
        linux=d.LinuxContainerConfig(),
    )


@dataclass(frozen=True)
class Pod:
    sandbox_id: str
    config: d.PodSandboxConfig


async def run_pod(cri: CRIClient, **kwargs: object) -> Pod:
    config = sandbox_config(**kwargs)  # type: ignore[arg-type]
    return Pod(await cri.run_pod_sandbox(config), config)


async def create(cri: CRIClient, pod: Pod, name: str = "main", **kwargs: object) -> str:
    await cri.pull_image(IMAGE)
    return await cri.create_container(pod.sandbox_id, container_config(name, **kwargs), pod.config)  # type: ignore[arg-type]
