"""UpdatePodSandboxResources on the runc shim: the pod's cgroup bounds every container in the pod.

Drives ``SandboxOps.update_pod_sandbox_resources`` (what the RPC runs) on a real runc shim.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from cri import domain as d
from cri.backend import SandboxResourcesUpdate
from cri.errors import FailedPrecondition, InvalidArgument, NotFound
from shims.node import cgroups
from tests.node.conftest import Shim
from tests.runc.scenario import container_config, pod_config, run_container

pytestmark = pytest.mark.integration
MiB = 1 << 20
HIERARCHICAL_LIMIT = "grep hierarchical_memory_limit /sys/fs/cgroup/memory/memory.stat"


def update(sandbox_id: str, resources: d.LinuxContainerResources) -> SandboxResourcesUpdate:
    """Pod totals ``resources`` plus an overhead of 16 MiB and 8 CPU shares."""
    return SandboxResourcesUpdate(
        pod_sandbox_id=sandbox_id,
        overhead=d.LinuxContainerResources(memory_limit_in_bytes=16 * MiB, cpu_shares=8),
        resources=resources,
    )


R = d.LinuxContainerResources


async def test_pod_limits_reach_the_pods_cgroup_and_bound_its_containers(shim: Shim, tmp_path: Path) -> None:
    client, runtime = shim
    pod = pod_config("sized", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    await runtime.update_pod_sandbox_resources(
        update(
            pod_id, R(memory_limit_in_bytes=48 * MiB, cpu_shares=256, cpu_quota=50_000, cpu_period=100_000)
        )
    )
    parent = runtime.sandboxes[pod_id].cgroup_parent
    held = await asyncio.to_thread(cgroups.read_limits, parent)
    assert (held.memory_limit, held.cpu_shares, held.cpu_quota, held.cpu_period) == (
        64 * MiB,
        264,
        50_000,
        100_000,
    )
    seen = await client.exec_sync(container_id, ["sh", "-c", HIERARCHICAL_LIMIT], exec_timeout=10)
    assert seen.stdout.decode().split() == ["hierarchical_memory_limit", str(64 * MiB)]


async def test_a_kubelet_pod_cgroup_gets_the_limits_too(shim: Shim, tmp_path: Path) -> None:
    client, runtime = shim
    base = pod_config("kubelet", tmp_path / "logs")
    parent = f"{runtime.config.cgroup_parent}-kubepods/pod{base.metadata.uid if base.metadata else ''}"
    pod = dataclasses.replace(base, linux=d.LinuxPodSandboxConfig(cgroup_parent=parent))
    pod_id = await client.run_pod_sandbox(pod)
    try:
        await runtime.update_pod_sandbox_resources(update(pod_id, R(memory_limit_in_bytes=32 * MiB)))
        assert (await asyncio.to_thread(cgroups.read_limits, parent)).memory_limit == 48 * MiB
    finally:
        await client.remove_pod_sandbox(pod_id)
        await asyncio.to_thread(cgroups.remove, parent.rsplit("/", 1)[0])


async def test_bad_updates_get_precise_errors(shim: Shim, tmp_path: Path) -> None:
    client, runtime = shim
    pod = pod_config("bad", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    limited = dataclasses.replace(
        container_config("c", "sleep", "300"),
        linux=d.LinuxContainerConfig(
            resources=d.LinuxContainerResources(cpu_quota=80_000, cpu_period=100_000)
        ),
    )
    await run_container(client, pod_id, pod, limited)
    with pytest.raises(NotFound):
        await runtime.update_pod_sandbox_resources(update("f" * 64, R(cpu_shares=100)))
    with pytest.raises(InvalidArgument, match="memory_limit_in_bytes"):
        await runtime.update_pod_sandbox_resources(update(pod_id, R(memory_limit_in_bytes=-1)))
    with pytest.raises(InvalidArgument, match=r"cpu\.cfs_quota_us"):
        await runtime.update_pod_sandbox_resources(update(pod_id, R(cpu_quota=20_000, cpu_period=100_000)))
    await client.stop_pod_sandbox(pod_id)
    with pytest.raises(FailedPrecondition, match="not ready"):
        await runtime.update_pod_sandbox_resources(update(pod_id, R(cpu_shares=100)))
