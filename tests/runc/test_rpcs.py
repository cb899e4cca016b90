"""The rest of RuntimeService on the real stack: events, stats, resources, log reopening, status."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from cri.errors import FailedPrecondition
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container, wait_until

pytestmark = pytest.mark.integration
Shim = tuple[CRIClient, RuncRuntime]
EVENT = d.ContainerEventType


async def test_events_follow_the_lifecycle_with_statuses(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    events: list[d.ContainerEvent] = []

    async def collect() -> None:
        async for event in client.container_events():
            events.append(event)

    collector = asyncio.create_task(collect())
    await wait_until(lambda: shim[1].events.subscriber_count > 0, what="the event stream to open")
    pod = pod_config("events", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sh", "-c", "exit 0"))

    def seen(object_id: str, kind: d.ContainerEventType) -> bool:
        return any(e.container_id == object_id and e.container_event_type == kind for e in events)

    await wait_until(lambda: seen(container_id, EVENT.CONTAINER_STOPPED_EVENT), what="the stop event")
    await client.remove_pod_sandbox(pod_id)
    await wait_until(lambda: seen(pod_id, EVENT.CONTAINER_DELETED_EVENT), what="the sandbox deletion event")
    collector.cancel()
    mine = [(e.container_id, e.container_event_type) for e in events]
    assert mine == [
        (pod_id, EVENT.CONTAINER_CREATED_EVENT), (pod_id, EVENT.CONTAINER_STARTED_EVENT),
        (container_id, EVENT.CONTAINER_CREATED_EVENT), (container_id, EVENT.CONTAINER_STARTED_EVENT),
        (container_id, EVENT.CONTAINER_STOPPED_EVENT), (pod_id, EVENT.CONTAINER_STOPPED_EVENT),
        (container_id, EVENT.CONTAINER_DELETED_EVENT), (pod_id, EVENT.CONTAINER_DELETED_EVENT),
    ]  # fmt: skip
    stopped = next(e for e in events if e.container_event_type == EVENT.CONTAINER_STOPPED_EVENT)
    assert stopped.pod_sandbox_status is not None and stopped.pod_sandbox_status.id == pod_id
    [status] = [s for s in stopped.containers_statuses if s.id == container_id]
    assert (status.state, status.reason) == (d.ContainerState.CONTAINER_EXITED, "Completed")


async def test_stats_and_resource_updates_come_from_the_cgroup(shim: Shim, tmp_path: Path) -> None:
    client, runtime = shim
    pod = pod_config("stats", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    config = container_config("c", "sh", "-c", "dd if=/dev/zero of=/dev/null bs=1M count=200; sleep 300")
    container_id = await run_container(client, pod_id, pod, config)

    async def used_cpu() -> bool:
        stats = await client.container_stats(container_id)
        return bool(stats.cpu and stats.cpu.usage_core_nano_seconds)

    await wait_until(used_cpu, what="CPU usage in the container's cgroup")
    stats = await client.container_stats(container_id)
    assert stats.memory is not None and (stats.memory.working_set_bytes or 0) > 0
    [pod_stats] = await client.list_pod_sandbox_stats(d.PodSandboxStatsFilter(id=pod_id))
    assert pod_stats.linux is not None and [
        c.attributes.id for c in pod_stats.linux.containers if c.attributes
    ] == [container_id]
    limit = 96 * 1024 * 1024
    await client.update_container_resources(
        container_id, d.LinuxContainerResources(memory_limit_in_bytes=limit, cpu_shares=256)
    )
    cgroup = Path("/sys/fs/cgroup/memory") / runtime.containers[container_id].cgroups_path.lstrip("/")
    assert int((cgroup / "memory.limit_in_bytes").read_text()) == limit
    status = (await client.container_status(container_id)).status
    assert status is not None and status.resources is not None and status.resources.linux is not None
    assert status.resources.linux.memory_limit_in_bytes == limit


async def test_reopen_log_writes_a_new_file_at_the_same_path(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    pod = pod_config("reopen", tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    script = "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done"
    container_id = await run_container(client, pod_id, pod, container_config("c", "sh", "-c", script))
    status = (await client.container_status(container_id)).status
    assert status is not None
    log = Path(status.log_path)
    await wait_until(lambda: log.exists() and log.stat().st_size > 0, what="the first log lines")
    await asyncio.to_thread(log.rename, log.with_suffix(".rotated"))
    await client.reopen_container_log(container_id)
    await wait_until(
        lambda: log.exists() and b"stdout F line" in log.read_bytes(), what="lines in the new file"
    )
    rotated_size = log.with_suffix(".rotated").stat().st_size
    await wait_until(lambda: log.stat().st_size > 200, what="more lines in the new file")
    assert log.with_suffix(".rotated").stat().st_size == rotated_size
    await client.stop_container(container_id, grace_seconds=0)
    with pytest.raises(FailedPrecondition):
        await client.reopen_container_log(container_id)


async def test_status_reports_network_readiness_from_the_cni_directory(shim: Shim, tmp_path: Path) -> None:
    client, runtime = shim
    conditions = {c.type: c for c in (await client.status()).status.conditions}  # type: ignore[union-attr]
    assert conditions["RuntimeReady"].status and conditions["NetworkReady"].status
    config_file = runtime.config.cni_conf_dir / "10-tinykube.conflist"
    saved = await asyncio.to_thread(config_file.read_text)
    await asyncio.to_thread(config_file.unlink)
    try:
        network = {c.type: c for c in (await client.status()).status.conditions}["NetworkReady"]  # type: ignore[union-attr]
        assert (network.status, network.reason) == (False, "NetworkPluginNotReady")
    finally:
        await asyncio.to_thread(config_file.write_text, saved)
    assert json.loads(saved)["name"]
    assert (await client.runtime_config()).linux == d.LinuxRuntimeConfiguration(
        cgroup_driver=d.CgroupDriver.CGROUPFS
    )


async def test_a_retried_create_gets_the_first_calls_result(shim: Shim, tmp_path: Path) -> None:
    _, runtime = shim
    pod = pod_config("retry", tmp_path / "logs")
    first, second = await asyncio.gather(
        runtime.run_pod_sandbox(pod, runtime_handler=""), runtime.run_pod_sandbox(pod, runtime_handler="")
    )
    assert first == second
    config = container_config("c", "sleep", "300")
    a, b = await asyncio.gather(
        runtime.create_container(first, config, pod),
        runtime.create_container(first, dataclasses.replace(config), pod),
    )
    assert a == b
