"""Container resources at create and through UpdateContainerResources."""

from __future__ import annotations

import pytest

from conformance.checks.helpers import sh
from conformance.workspace import Workspace
from cri import domain as d

pytestmark = [pytest.mark.conformance]
MIB = 1024 * 1024


def _linux(resources: d.LinuxContainerResources) -> d.LinuxContainerConfig:
    from conformance.pod import security

    return d.LinuxContainerConfig(resources=resources, security_context=security().security_context)


async def _cgroup(ws: Workspace, container_id: str, controller: str, name: str) -> str:
    return await sh(
        ws.cri,
        container_id,
        f"cat /sys/fs/cgroup/{controller}/{name} 2>/dev/null || cat /sys/fs/cgroup/{name}",
    )


@pytest.mark.needs("processes")
async def test_memory_limit_applied(ws: Workspace) -> None:
    """memory_limit_in_bytes becomes the cgroup limit: resources.limits.memory is enforced by it."""
    container_id = await ws.start(linux=_linux(d.LinuxContainerResources(memory_limit_in_bytes=64 * MIB)))
    assert int(await _cgroup(ws, container_id, "memory", "memory.limit_in_bytes")) == 64 * MIB


@pytest.mark.needs("processes")
async def test_cpu_quota_applied(ws: Workspace) -> None:
    """cpu_quota/cpu_period become the CFS quota: resources.limits.cpu is enforced by it."""
    resources = d.LinuxContainerResources(cpu_period=100000, cpu_quota=50000)
    container_id = await ws.start(linux=_linux(resources))
    assert await _cgroup(ws, container_id, "cpu", "cpu.cfs_quota_us") == "50000"


@pytest.mark.needs("processes")
async def test_cpu_shares_applied(ws: Workspace) -> None:
    """cpu_shares become the cgroup's shares: resources.requests.cpu weighs containers by it."""
    container_id = await ws.start(linux=_linux(d.LinuxContainerResources(cpu_shares=512)))
    assert await _cgroup(ws, container_id, "cpu", "cpu.shares") == "512"


@pytest.mark.needs("processes")
async def test_update_memory_limit_takes_effect(ws: Workspace) -> None:
    """UpdateContainerResources changes the running container's memory limit: in-place resize."""
    container_id = await ws.start(linux=_linux(d.LinuxContainerResources(memory_limit_in_bytes=64 * MIB)))
    await ws.cri.update_container_resources(
        container_id, d.LinuxContainerResources(memory_limit_in_bytes=96 * MIB)
    )
    assert int(await _cgroup(ws, container_id, "memory", "memory.limit_in_bytes")) == 96 * MIB


@pytest.mark.needs("processes")
async def test_update_cpu_quota_takes_effect(ws: Workspace) -> None:
    """UpdateContainerResources changes the CFS quota of a running container."""
    resources = d.LinuxContainerResources(cpu_period=100000, cpu_quota=50000)
    container_id = await ws.start(linux=_linux(resources))
    update = d.LinuxContainerResources(cpu_period=100000, cpu_quota=20000)
    await ws.cri.update_container_resources(container_id, update)
    assert await _cgroup(ws, container_id, "cpu", "cpu.cfs_quota_us") == "20000"


async def test_status_reports_resources(ws: Workspace) -> None:
    """ContainerStatus reports the applied resources: in-place pod resize compares against them."""
    resources = d.LinuxContainerResources(memory_limit_in_bytes=64 * MIB, cpu_shares=512)
    container_id = await ws.create(linux=_linux(resources))
    status = await ws.status(container_id)
    assert status.resources and status.resources.linux
    assert status.resources.linux.memory_limit_in_bytes == 64 * MIB


async def test_status_reports_updated_resources(ws: Workspace) -> None:
    """After UpdateContainerResources the status shows the new limits: resize completion is read so."""
    container_id = await ws.start(linux=_linux(d.LinuxContainerResources(memory_limit_in_bytes=64 * MIB)))
    await ws.cri.update_container_resources(
        container_id, d.LinuxContainerResources(memory_limit_in_bytes=80 * MIB)
    )
    status = await ws.status(container_id)
    assert status.resources and status.resources.linux
    assert status.resources.linux.memory_limit_in_bytes == 80 * MIB


async def test_update_created_container(ws: Workspace) -> None:
    """UpdateContainerResources on a created container is accepted: resizes may race with start."""
    container_id = await ws.create()
    await ws.cri.update_container_resources(container_id, d.LinuxContainerResources(cpu_shares=256))
    assert (await ws.status(container_id)).state == d.ContainerState.CONTAINER_CREATED
