"""The runtime alone: the CRI calls the kubelet makes to start the benchmark's static pods, made
directly, all pods at once (or ``limit`` at a time), with the kubelet's own sandbox and container
configs. Per pod: ImageStatus (PullImage if absent, as with imagePullPolicy IfNotPresent),
RunPodSandbox, PodSandboxStatus, CreateContainer, StartContainer, then ContainerStatus showing the
container running."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from api.core.v1.manifest import load_pod
from api.core.v1.pods import pod_spec
from api.model.core_v1 import Pod
from cri import domain as d
from cri.client import CRIClient
from cri.errors import CRIError, NotFound
from kubelet.container_config import container_config
from kubelet.env import PodFacts
from kubelet.qos import qos_class
from kubelet.sandbox_config import NodeSettings, sandbox_config
from kubelet.static_source import static_pod

CALL_TIMEOUT_S = 120.0
NODE = "direct-cri"
REMOVE_ATTEMPTS = 3


@dataclass(frozen=True, kw_only=True)
class DirectResult:
    all_running_s: float
    per_pod_s: list[float]

    def percentile(self, fraction: float) -> float:
        if len(self.per_pod_s) == 1:
            return self.per_pod_s[0]
        return statistics.quantiles(sorted(self.per_pod_s), n=100, method="inclusive")[
            round(fraction * 100) - 1
        ]


def bench_pods(manifest: str, *, pods: int, base: Path) -> list[Pod]:
    return [
        static_pod(
            load_pod(manifest.format(index=index).encode()).pod,
            node_name=NODE,
            source=base / f"bench-{index}.yaml",
            seen=time.time(),
        )
        for index in range(pods)
    ]


async def _cgroup_driver(client: CRIClient) -> str:
    with contextlib.suppress(CRIError):
        info = await client.runtime_config(timeout=10)
        if info.linux is not None and info.linux.cgroup_driver == d.CgroupDriver.SYSTEMD:
            return "systemd"
    return "cgroupfs"


async def _start_pod(client: CRIClient, pod: Pod, settings: NodeSettings) -> str:
    qos = qos_class(pod)
    config = sandbox_config(pod, settings, attempt=0, qos=qos)
    await asyncio.to_thread(Path(config.log_directory).mkdir, mode=0o755, parents=True, exist_ok=True)
    container = pod_spec(pod).containers[0]
    image = container.image or ""
    if (await client.image_status(image, timeout=CALL_TIMEOUT_S)).image is None:
        await client.pull_image(image, sandbox_config=config, timeout=CALL_TIMEOUT_S)
    sandbox_id = await client.run_pod_sandbox(config, timeout=CALL_TIMEOUT_S)
    status = await client.pod_sandbox_status(sandbox_id, timeout=CALL_TIMEOUT_S)
    network = status.status.network if status.status else None
    facts = PodFacts(node_name=NODE, host_ip=settings.host_ip, pod_ip=network.ip if network else "")
    spec = container_config(
        pod, container, restart_count=0, facts=facts, volume_paths={}, extra_mounts=(), qos=qos,
        node_memory=1 << 34,
    )  # fmt: skip
    container_id = await client.create_container(sandbox_id, spec, config, timeout=CALL_TIMEOUT_S)
    await client.start_container(container_id, timeout=CALL_TIMEOUT_S)
    result = await client.container_status(container_id, timeout=CALL_TIMEOUT_S)
    assert result.status is not None and result.status.state == d.ContainerState.CONTAINER_RUNNING
    return sandbox_id


async def direct_cri(
    endpoint: str, manifest: str, *, pods: int, base: Path, limit: int | None = None
) -> DirectResult:
    client = await CRIClient.connect(endpoint, timeout=30)
    sandboxes: list[str] = []
    try:
        settings = NodeSettings(
            node_name=NODE, pod_logs_dir=str(base / "pods"), cgroup_driver=await _cgroup_driver(client)
        )
        gate = asyncio.Semaphore(limit or pods)
        started = time.monotonic()
        per_pod: list[float] = []

        async def one(pod: Pod) -> None:
            async with gate:
                sandboxes.append(await _start_pod(client, pod, settings))
            per_pod.append(time.monotonic() - started)

        await asyncio.gather(*(one(pod) for pod in bench_pods(manifest, pods=pods, base=base)))
        return DirectResult(all_running_s=time.monotonic() - started, per_pod_s=per_pod)
    finally:
        await _remove(client, sandboxes)
        await client.close()


async def _remove(client: CRIClient, sandboxes: list[str]) -> None:
    async def remove(sandbox_id: str) -> None:
        for _ in range(REMOVE_ATTEMPTS):  # containerd 1.6 at times fails a CNI teardown under load
            try:
                await client.stop_pod_sandbox(sandbox_id, timeout=CALL_TIMEOUT_S)
                await client.remove_pod_sandbox(sandbox_id, timeout=CALL_TIMEOUT_S)
                return
            except NotFound:
                return
            except CRIError as exc:
                print(f"removing sandbox {sandbox_id[:12]}: {exc.message}", file=sys.stderr)

    await asyncio.gather(*(remove(s) for s in sandboxes))
