"""Container and pod sandbox stats, and their filters."""

from __future__ import annotations

import pytest

from conformance.checks.helpers import NS_2001
from conformance.workspace import Workspace, wait_for
from cri import domain as d

pytestmark = pytest.mark.conformance


async def test_container_stats_attributes(ws: Workspace) -> None:
    """ContainerStats identifies the container with its metadata and labels: the summary API maps by it."""
    container_id = await ws.start()
    stats = await ws.cri.container_stats(container_id)
    assert stats.attributes is not None and stats.attributes.id == container_id
    assert stats.attributes.metadata is not None and stats.attributes.metadata.name == "main"
    assert stats.attributes.labels["io.kubernetes.container.name"] == "main"


async def test_container_stats_cpu(ws: Workspace) -> None:
    """ContainerStats has cpu usage with a timestamp: kubectl top and the HPA compute rates from it."""
    stats = await ws.cri.container_stats(await ws.start())
    assert stats.cpu is not None and stats.cpu.timestamp > NS_2001
    assert stats.cpu.usage_core_nano_seconds is not None


async def test_container_stats_memory(ws: Workspace) -> None:
    """ContainerStats has the memory working set: eviction and kubectl top use it."""
    stats = await ws.cri.container_stats(await ws.start())
    assert stats.memory is not None and stats.memory.timestamp > NS_2001
    assert stats.memory.working_set_bytes is not None


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="writable_layer usage has timestamp 0",
    raises=AssertionError,
    match=r"FilesystemUsage\(timestamp=0, ",
)
async def test_container_stats_writable_layer(ws: Workspace) -> None:
    """ContainerStats has writable-layer usage: ephemeral-storage eviction reads it."""
    stats = await ws.cri.container_stats(await ws.start())
    assert stats.writable_layer is not None and stats.writable_layer.timestamp > NS_2001
    assert stats.writable_layer.used_bytes is not None


@pytest.mark.needs("processes")
async def test_container_cpu_usage_grows(ws: Workspace) -> None:
    """CPU usage grows while the container computes: rates from it must be positive."""
    container_id = await ws.start(command=("sh", "-c", "while true; do :; done"))

    async def busy() -> int | None:
        cpu = (await ws.cri.container_stats(container_id)).cpu
        used = cpu.usage_core_nano_seconds if cpu else None
        return used if used else None

    assert await wait_for("cpu usage above zero", busy) > 0


@pytest.mark.needs("processes")
async def test_container_memory_nonzero(ws: Workspace) -> None:
    """A running container uses some memory: a zero working set hides real usage from eviction."""
    stats = await ws.cri.container_stats(await ws.start())
    assert stats.memory is not None and (stats.memory.working_set_bytes or 0) > 0


async def test_list_stats_filter_by_id(ws: Workspace) -> None:
    """ListContainerStats filtered by id answers that container only: kubectl top reads one."""
    pod = await ws.run_pod()
    first, second = await ws.start(pod, name="one"), await ws.start(pod, name="two")
    listed = await ws.cri.list_container_stats(d.ContainerStatsFilter(id=first))
    assert [s.attributes.id for s in listed if s.attributes] == [first] and second != first


async def test_list_stats_filter_by_pod(ws: Workspace) -> None:
    """ListContainerStats filtered by sandbox answers that pod's containers: per-pod summaries."""
    first, second = await ws.run_pod(), await ws.run_pod()
    mine, other = await ws.start(first), await ws.start(second)
    listed = {
        s.attributes.id
        for s in await ws.cri.list_container_stats(d.ContainerStatsFilter(pod_sandbox_id=first.id))
        if s.attributes
    }
    assert mine in listed and other not in listed


async def test_list_stats_filter_by_label(ws: Workspace) -> None:
    """ListContainerStats filtered by labels matches exactly: the kubelet selects by pod uid."""
    pod = await ws.run_pod()
    picked = await ws.start(pod, name="picked", labels={"tk/stats": "yes"})
    other = await ws.start(pod, name="other")
    selector = {"tk/stats": "yes"}
    listed = {
        s.attributes.id
        for s in await ws.cri.list_container_stats(d.ContainerStatsFilter(label_selector=selector))
        if s.attributes
    }
    assert picked in listed and other not in listed


async def test_list_stats_includes_running(ws: Workspace) -> None:
    """ListContainerStats without a filter includes a running container: the summary API lists all."""
    container_id = await ws.start()
    assert container_id in {s.attributes.id for s in await ws.cri.list_container_stats() if s.attributes}


@pytest.mark.needs("processes")
async def test_list_stats_includes_created_and_exited(ws: Workspace) -> None:
    """ListContainerStats lists created and exited containers too, with their writable layer and no
    cpu or memory (nothing runs): `crictl stats -a` shows them, and a pod's ephemeral storage counts
    the layers of its exited containers until they are removed."""
    pod = await ws.run_pod()
    created = await ws.create(pod, name="created", command=("sleep", "600"))
    exited = (await ws.run_to_exit(pod, name="exited", command=("true",))).id
    running = await ws.start(pod, name="running")
    listed = {
        s.attributes.id: s
        for s in await ws.cri.list_container_stats(d.ContainerStatsFilter(pod_sandbox_id=pod.id))
        if s.attributes
    }
    assert set(listed) == {created, exited, running}
    assert all(listed[i].writable_layer is not None for i in (created, exited, running))
    assert (listed[exited].cpu, listed[exited].memory) == (None, None)
    assert listed[running].cpu is not None and listed[running].memory is not None


async def test_pod_sandbox_stats(ws: Workspace) -> None:
    """PodSandboxStats identifies the pod and carries cpu and memory: the kubelet's pod summary."""
    pod = await ws.run_pod()
    await ws.start(pod)
    stats = await ws.cri.pod_sandbox_stats(pod.id)
    assert stats.attributes is not None and stats.attributes.id == pod.id
    assert stats.linux is not None and stats.linux.cpu is not None and stats.linux.memory is not None


async def test_pod_sandbox_stats_containers(ws: Workspace) -> None:
    """PodSandboxStats includes its running containers' stats: pod totals are built from them."""
    pod = await ws.run_pod()
    container_id = await ws.start(pod)
    stats = await ws.cri.pod_sandbox_stats(pod.id)
    assert stats.linux is not None
    assert container_id in {c.attributes.id for c in stats.linux.containers if c.attributes}


@pytest.mark.needs("processes")
async def test_pod_sandbox_stats_network(ws: Workspace) -> None:
    """PodSandboxStats reports network interfaces: the summary API's pod network stats."""
    pod = await ws.run_pod()
    await ws.start(pod)
    stats = await ws.cri.pod_sandbox_stats(pod.id)
    assert stats.linux is not None and stats.linux.network is not None
    assert stats.linux.network.default_interface is not None


async def test_pod_sandbox_stats_process_count(ws: Workspace) -> None:
    """PodSandboxStats counts processes: PID-pressure eviction reads it."""
    pod = await ws.run_pod()
    await ws.start(pod)
    stats = await ws.cri.pod_sandbox_stats(pod.id)
    assert stats.linux is not None and stats.linux.process is not None
    assert (stats.linux.process.process_count or 0) >= 1


async def test_list_pod_sandbox_stats_filter_by_id(ws: Workspace) -> None:
    """ListPodSandboxStats filtered by id answers that pod only."""
    first, second = await ws.run_pod(), await ws.run_pod()
    listed = await ws.cri.list_pod_sandbox_stats(d.PodSandboxStatsFilter(id=first.id))
    assert [s.attributes.id for s in listed if s.attributes] == [first.id] and second.id != first.id


async def test_list_pod_sandbox_stats_filter_by_label(ws: Workspace) -> None:
    """ListPodSandboxStats filtered by labels answers the matching pods."""
    pod = await ws.run_pod(labels={"tk/pstats": "yes"})
    selector = {"tk/pstats": "yes", "io.kubernetes.pod.uid": pod.config.labels["io.kubernetes.pod.uid"]}
    listed = await ws.cri.list_pod_sandbox_stats(d.PodSandboxStatsFilter(label_selector=selector))
    assert [s.attributes.id for s in listed if s.attributes] == [pod.id]
