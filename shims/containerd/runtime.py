"""ContainerdRuntime: ``cri.backend.RuntimeBackend`` over containerd's containers and tasks.

A record table answers the reads; the sandbox and container managers make the changes; ``run``
supervises what lives on: the exits from containerd's event stream and the copies of output into
the CRI logs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.backend import CheckpointSpec, SandboxResourcesUpdate
from cri.buildinfo import runtime_version
from cri.errors import FailedPrecondition, NotFound, Unimplemented
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from cri.table import InMemory, RecordTable, TableViews
from shims.containerd import execsync, lifecycle
from shims.containerd.client import Client, Subscribed
from shims.containerd.config import ContainerdShimConfig
from shims.containerd.containers import ContainerManager
from shims.containerd.exits import OomKilled, TaskExited, task_exits
from shims.containerd.images import ContainerdImages
from shims.containerd.records import ContainerRecord, SandboxRecord
from shims.containerd.sandboxes import SandboxManager, SandboxSettings
from shims.node.podhost import PodHost
from shims.node.specinputs import RuntimeLimits
from shims.node.usage import ContainerPlace, container_stats, sandbox_stats

log = logging.getLogger("shims.containerd")
RUNNING = d.ContainerState.CONTAINER_RUNNING
NO_PAUSE_BINARY = Path("/nonexistent")
"""The infra process is a containerd task from the sandbox image, never PodHost's pause binary."""


class ContainerdRuntime(TableViews[SandboxRecord, ContainerRecord]):
    def __init__(self, config: ContainerdShimConfig, client: Client, images: ContainerdImages) -> None:
        self.config = config
        self.client = client
        self.table = RecordTable(InMemory(), sandbox_type=SandboxRecord, container_type=ContainerRecord)
        limits = RuntimeLimits.of_this_process()
        self.pod_host = PodHost(
            cni_conf_dir=config.cni_conf_dir, cni_bin_dirs=config.cni_bin_dirs, pause_binary=NO_PAUSE_BINARY
        )
        self._pending: list[tuple[str, Coroutine[Any, Any, None]]] = []
        self._group: asyncio.TaskGroup | None = None
        self.container_manager = ContainerManager(
            self.table,
            client=client,
            images=images,
            limits=limits,
            state_dir=config.state_dir,
            spawn=self._spawn,
        )
        self.sandbox_manager = SandboxManager(
            self.table,
            self.container_manager,
            client=client,
            images=images,
            host=self.pod_host,
            settings=SandboxSettings(
                state_dir=config.state_dir,
                sandbox_image=config.sandbox_image,
                cgroup_parent=config.cgroup_parent,
            ),
            limits=limits,
        )
        self.pod_cidr = ""
        self.subscribed = asyncio.Event()

    # supervision
    async def run(self) -> None:
        """Follow task exits and copy output until cancelled; a failing copy is logged, not fatal."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for name, work in self._pending:
                self._spawn(name, work)
            self._pending.clear()
            group.create_task(self._follow_exits())

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        if self._group is None:
            self._pending.append((name, work))
            return
        self._group.create_task(_logged(name, work))

    async def _follow_exits(self) -> None:
        async for item in task_exits(self.client):
            if isinstance(item, Subscribed):
                self.subscribed.set()
            elif isinstance(item, OomKilled):
                self.container_manager.oom_killed(item.container_id)
            elif not item.exec_id:
                await self._exited(item)

    async def _exited(self, item: TaskExited) -> None:
        if item.container_id in self.table.sandboxes:
            self.sandbox_manager.infra_exited(item.container_id)
        else:
            await self.container_manager.exited(
                item.container_id, item.exit_status, item.exited_at, oom=item.oom_killed
            )

    # mutations, each by its manager
    async def run_pod_sandbox(self, config: d.PodSandboxConfig, *, runtime_handler: str) -> str:
        return await self.sandbox_manager.run(config, runtime_handler=runtime_handler)

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self.sandbox_manager.stop(pod_sandbox_id)

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self.sandbox_manager.remove(pod_sandbox_id)

    async def update_pod_sandbox_resources(self, update: SandboxResourcesUpdate) -> None:
        self.table.sandbox(update.pod_sandbox_id)
        raise Unimplemented("the containerd shim does not update pod sandbox resources yet")

    async def create_container(
        self, pod_sandbox_id: str, config: d.ContainerConfig, sandbox_config: d.PodSandboxConfig
    ) -> str:
        return await self.container_manager.create(self.table.sandbox(pod_sandbox_id), config)

    async def start_container(self, container_id: str) -> None:
        await self.container_manager.start(container_id)

    async def stop_container(self, container_id: str, *, timeout: int) -> None:
        await self.container_manager.stop(container_id, timeout=timeout)

    async def remove_container(self, container_id: str) -> None:
        await self.container_manager.remove(container_id)

    # reads
    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool) -> d.PodSandboxStatusResult:
        record = self.table.sandbox(pod_sandbox_id)
        info = (
            {
                "info": json.dumps(
                    {
                        "pid": record.infra_pid,
                        "netns": record.netns,
                        "cgroupParent": record.cgroup_parent,
                        "cniResult": record.cni_result,
                        "runtimeSpec": {"linux": {"namespaces": _namespace_entries(record)}},
                    }
                )
            }
            if verbose
            else {}
        )
        return d.PodSandboxStatusResult(status=record.status(), info=info)

    async def list_pod_sandbox(self, filter_: d.PodSandboxFilter | None) -> list[d.PodSandbox]:
        return self.table.list_sandboxes(filter_)

    async def list_containers(self, filter_: d.ContainerFilter | None) -> list[d.Container]:
        return self.table.list_containers(filter_)

    async def container_status(self, container_id: str, *, verbose: bool) -> d.ContainerStatusResult:
        record = self.table.container(container_id)
        info = (
            {"info": json.dumps({"pid": record.pid, "cgroupsPath": record.cgroups_path})} if verbose else {}
        )
        return d.ContainerStatusResult(status=record.status(), info=info)

    def _running(self, container_id: str) -> ContainerRecord:
        record = self.table.container(container_id)
        if record.state != RUNNING:
            raise FailedPrecondition(f"container {record.id} is not running")
        return record

    async def update_container_resources(
        self, container_id: str, linux: d.LinuxContainerResources | None, annotations: dict[str, str]
    ) -> None:
        record = self.table.container(container_id)
        if linux is None:
            return
        if record.state == RUNNING:
            await lifecycle.update_resources(self.client, record.id, linux)
        self.table.commit(dataclasses.replace(record, resources=linux))

    async def reopen_container_log(self, container_id: str) -> None:
        record = self._running(container_id)
        output = self.container_manager.outputs.get(record.id)
        if output is not None:
            output.log.reopen()  # on the loop, between the copy's writes

    async def exec_sync(self, container_id: str, cmd: tuple[str, ...], *, timeout: int) -> d.ExecSyncResult:
        record = self._running(container_id)
        try:
            spec = (await self.client.containers.get(record.id)).spec
        except NotFound:
            raise FailedPrecondition(f"container {record.id} is not running") from None
        return await execsync.exec_sync(
            self.client, record.id, spec, cmd, timeout=timeout, fifo_dir=self.container_manager.fifo_dir
        )

    async def exec(self, spec: ExecSpec) -> str:
        self._running(spec.container_id)
        raise Unimplemented("the containerd shim runs without a streaming server yet")

    async def attach(self, spec: AttachSpec) -> str:
        self._running(spec.container_id)
        raise Unimplemented("the containerd shim runs without a streaming server yet")

    async def port_forward(self, spec: PortForwardSpec) -> str:
        self.table.sandbox(spec.pod_sandbox_id)
        raise Unimplemented("the containerd shim runs without a streaming server yet")

    async def checkpoint_container(self, spec: CheckpointSpec) -> None:
        self.table.container(spec.container_id)
        raise Unimplemented("checkpointing needs CRIU, which is not installed")

    # stats
    def _place(self, record: ContainerRecord) -> ContainerPlace:
        return ContainerPlace(
            attributes=d.ContainerAttributes(
                id=record.id,
                metadata=record.metadata,
                labels=record.config.labels,
                annotations=record.config.annotations,
            ),
            cgroups_path=record.cgroups_path,
            upper_dir=Path(record.upper_dir),
            running=record.state == RUNNING,
            pid=record.pid,
        )

    def _sandbox_stats(self, record: SandboxRecord, running: list[ContainerPlace]) -> d.PodSandboxStats:
        attributes = d.PodSandboxAttributes(
            id=record.id,
            metadata=record.metadata,
            labels=record.config.labels,
            annotations=record.config.annotations,
        )
        return sandbox_stats(
            attributes, cgroup_parent=record.cgroup_parent, netns=record.netns, running=running
        )

    def _running_in(self, sandbox_id: str) -> list[ContainerPlace]:
        return [self._place(c) for c in self.table.running_in(sandbox_id)]

    async def container_stats(self, container_id: str) -> d.ContainerStats:
        return await asyncio.to_thread(container_stats, self._place(self.table.container(container_id)))

    async def list_container_stats(self, filter_: d.ContainerStatsFilter | None) -> list[d.ContainerStats]:
        chosen = [self._place(c) for c in self.table.select_container_stats(filter_)]
        return await asyncio.to_thread(lambda: [container_stats(c) for c in chosen])

    async def pod_sandbox_stats(self, pod_sandbox_id: str) -> d.PodSandboxStats:
        record = self.table.sandbox(pod_sandbox_id)
        return await asyncio.to_thread(self._sandbox_stats, record, self._running_in(record.id))

    async def list_pod_sandbox_stats(
        self, filter_: d.PodSandboxStatsFilter | None
    ) -> list[d.PodSandboxStats]:
        chosen = [(s, self._running_in(s.id)) for s in self.table.select_sandbox_stats(filter_)]
        return await asyncio.to_thread(lambda: [self._sandbox_stats(s, running) for s, running in chosen])

    async def list_metric_descriptors(self) -> list[d.MetricDescriptor]:
        return []

    async def list_pod_sandbox_metrics(self) -> list[d.PodSandboxMetrics]:
        return []

    # runtime
    async def version(self) -> d.RuntimeVersion:
        return runtime_version("tinykube-containerd")

    async def status(self, *, verbose: bool) -> d.StatusResult:
        network = await asyncio.to_thread(self.pod_host.network)
        network_condition = (
            d.RuntimeCondition(type="NetworkReady", status=True)
            if network
            else d.RuntimeCondition(
                type="NetworkReady",
                status=False,
                reason="NetworkPluginNotReady",
                message=f"no CNI network config in {self.config.cni_conf_dir}",
            )
        )
        info = (
            {
                "config": json.dumps(
                    {
                        "backend": "containerd",
                        "namespace": self.config.namespace,
                        "podCIDR": self.pod_cidr,
                        "cniConfig": str(network.source) if network else "",
                    }
                )
            }
            if verbose
            else {}
        )
        return d.StatusResult(
            status=d.RuntimeStatus(
                conditions=(d.RuntimeCondition(type="RuntimeReady", status=True), network_condition)
            ),
            info=info,
            runtime_handlers=(
                d.RuntimeHandler(name="", features=d.RuntimeHandlerFeatures()),
                d.RuntimeHandler(name="runc", features=d.RuntimeHandlerFeatures()),
            ),
            features=d.RuntimeFeatures(supplemental_groups_policy=True),
        )

    async def runtime_config(self) -> d.RuntimeConfigInfo:
        return d.RuntimeConfigInfo(linux=d.LinuxRuntimeConfiguration(cgroup_driver=d.CgroupDriver.CGROUPFS))

    async def update_runtime_config(self, config: d.RuntimeConfig) -> None:
        if config.network_config is not None:
            self.pod_cidr = config.network_config.pod_cidr

    def container_events(self) -> AsyncIterator[d.ContainerEvent]:
        return self.table.events.subscribe()


async def _logged(name: str, work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", name)


def _namespace_entries(record: SandboxRecord) -> list[dict[str, str]]:
    pinned = (("network", record.netns), ("ipc", record.ipc_ns), ("uts", record.uts_ns))
    return [{"type": kind, "path": path} for kind, path in pinned if path]
