"""RuncRuntime: ``cri.backend.RuntimeBackend`` over conmon + runc, CNI and pinned namespaces.

It composes a record table, a sandbox manager and a container manager; this module answers the
reads (statuses, lists, stats, runtime info) and hands each mutation to its manager.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

from cri import domain as d
from cri.backend import CheckpointSpec, SandboxResourcesUpdate
from cri.buildinfo import runtime_version
from cri.errors import FailedPrecondition, Unimplemented
from cri.streaming.server import StreamingServer
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from cri.table import RecordTable, TableViews
from shims import failpoints
from shims.node import conmon
from shims.node.conmon import ConmonSettings
from shims.node.ocispec import build_resources
from shims.node.podhost import PodHost
from shims.node.recordstore import RecordStore
from shims.node.runc import Runc
from shims.node.usage import ContainerPlace, container_stats, sandbox_stats
from shims.runc.config import RuncShimConfig
from shims.runc.containerhost import ContainerHost
from shims.runc.containers import ContainerManager
from shims.runc.execsync import exec_sync
from shims.runc.images import ImageSource
from shims.runc.paths import Paths
from shims.runc.records import ContainerRecord, SandboxRecord
from shims.runc.sandboxes import SandboxManager

RUNNING = d.ContainerState.CONTAINER_RUNNING


class RuncRuntime(TableViews[SandboxRecord, ContainerRecord]):
    def __init__(self, config: RuncShimConfig, images: ImageSource) -> None:
        self.config = config
        self.paths = Paths(root=config.root_dir, state=config.state_dir)
        self.store = RecordStore(config.state_dir, sandbox_type=SandboxRecord, container_type=ContainerRecord)
        self.table = RecordTable(self.store, sandbox_type=SandboxRecord, container_type=ContainerRecord)
        self.runc = Runc(binary=config.runc, root=config.runc_root)
        self.container_host = ContainerHost(
            paths=self.paths,
            runc=self.runc,
            conmon=ConmonSettings(conmon=config.conmon, runc=config.runc, runc_root=config.runc_root),
            images=images,
            runc_root=config.runc_root,
        )
        self.pod_host = PodHost(
            cni_conf_dir=config.cni_conf_dir,
            cni_bin_dirs=config.cni_bin_dirs,
            pause_binary=config.pause_binary,
            cni_timeout=config.cni_plugin_timeout,
        )
        self.container_manager = ContainerManager(self.table, self.container_host)
        self.sandbox_manager = SandboxManager(
            self.table,
            self.container_manager,
            self.pod_host,
            paths=self.paths,
            cgroup_parent=config.cgroup_parent,
            owner_environment={"TINYKUBE_RUNC_STATE": str(config.state_dir)},
        )
        self.pod_cidr = ""
        self.streaming_server: StreamingServer | None = None

    async def creation_settled(self, container_id: str) -> None:
        await self.container_manager.creation_settled(container_id)

    async def close(self) -> None:
        await self.container_manager.close()
        await self.sandbox_manager.close()

    # mutations, each by its manager
    async def run_pod_sandbox(self, config: d.PodSandboxConfig, *, runtime_handler: str) -> str:
        return await self.sandbox_manager.run(config, runtime_handler=runtime_handler)

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self.sandbox_manager.stop(pod_sandbox_id)

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self.sandbox_manager.remove(pod_sandbox_id)

    async def update_pod_sandbox_resources(self, update: SandboxResourcesUpdate) -> None:
        await self.sandbox_manager.update_resources(update)

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
                        "pid": self._sandbox_pid(record),
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

    def _sandbox_pid(self, record: SandboxRecord) -> int:
        """What ``nsenter -t`` needs (containerd's pause pid): the infra process, else a running container."""
        if record.infra_pid:
            return record.infra_pid
        return next((c.pid for c in self.table.running_in(record.id)), 0)

    async def list_pod_sandbox(self, filter_: d.PodSandboxFilter | None) -> list[d.PodSandbox]:
        return self.table.list_sandboxes(filter_)

    async def list_containers(self, filter_: d.ContainerFilter | None) -> list[d.Container]:
        return self.table.list_containers(filter_)

    async def container_status(self, container_id: str, *, verbose: bool) -> d.ContainerStatusResult:
        record = self.table.container(container_id)
        info = (
            {
                "info": json.dumps(
                    {"pid": record.pid, "conmonPid": record.conmon_pid, "cgroupsPath": record.cgroups_path}
                )
            }
            if verbose
            else {}
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
        await self.creation_settled(record.id)
        record = self.table.container(record.id)
        resources = build_resources(linux, privileged=False)
        resources.pop("devices", None)
        if record.state in (RUNNING, d.ContainerState.CONTAINER_CREATED):
            await self.runc.update(record.id, resources)
        self.table.commit(dataclasses.replace(record, resources=linux))

    async def reopen_container_log(self, container_id: str) -> None:
        record = self._running(container_id)
        if not record.log_path:
            return
        await conmon.reopen_log(self.container_host.conmon_view(record).ctl_path, Path(record.log_path))

    async def exec_sync(self, container_id: str, cmd: tuple[str, ...], *, timeout: int) -> d.ExecSyncResult:
        record = self._running(container_id)
        failpoints.hit("runc.exec_sync")
        conmon_settings = self.container_host.conmon
        return await exec_sync(conmon_settings, record.id, self.paths.bundle(record.id), cmd, timeout=timeout)

    def _streaming(self) -> StreamingServer:
        if self.streaming_server is None:
            raise Unimplemented("the runc shim runs without a streaming server")
        return self.streaming_server

    async def exec(self, spec: ExecSpec) -> str:
        self._running(spec.container_id)
        return self._streaming().exec_url(spec)

    async def attach(self, spec: AttachSpec) -> str:
        self._running(spec.container_id)
        return self._streaming().attach_url(spec)

    async def port_forward(self, spec: PortForwardSpec) -> str:
        sandbox = self.table.sandbox(spec.pod_sandbox_id)
        if not sandbox.ready:
            raise FailedPrecondition(f"pod sandbox {sandbox.id} is not ready")
        return self._streaming().port_forward_url(spec)

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
            upper_dir=self.paths.container_root(record.id) / "upper",
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
        """On the event loop: the container table changes there, so worker threads never iterate it."""
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
        return runtime_version("tinykube-runc")

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
                        "backend": "runc",
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


def _namespace_entries(record: SandboxRecord) -> list[dict[str, str]]:
    """The pod's pinned namespaces as containerd's inspectp shows them (runtimeSpec.linux.namespaces)."""
    pinned = (("network", record.netns), ("ipc", record.ipc_ns), ("uts", record.uts_ns))
    return [{"type": kind, "path": path} for kind, path in pinned if path]
