"""RuncRuntime: ``cri.backend.RuntimeBackend`` over conmon + runc, CNI and pinned namespaces."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from cri import domain as d
from cri.backend import CheckpointSpec
from cri.buildinfo import project_version
from cri.errors import FailedPrecondition, Unimplemented
from cri.filters import filter_containers, filter_sandboxes, labels_match
from cri.streaming.server import StreamingServer
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from shims import failpoints
from shims.node import cgroups, conmon
from shims.node.netstats import read_netns_usage, read_network_usage
from shims.node.ocispec import build_resources
from shims.runc.containers import ContainerOps
from shims.runc.execsync import exec_sync
from shims.runc.records import ContainerRecord, SandboxRecord
from shims.runc.sandboxes import SandboxOps

RUNNING = d.ContainerState.CONTAINER_RUNNING


class RuncRuntime(SandboxOps, ContainerOps):
    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool) -> d.PodSandboxStatusResult:
        record = self.sandbox(pod_sandbox_id)
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
        mine = (c for c in self.containers.values() if c.sandbox_id == record.id)
        return next((c.pid for c in mine if c.state == RUNNING), 0)

    async def list_pod_sandbox(self, filter_: d.PodSandboxFilter | None) -> list[d.PodSandbox]:
        made = (s for s in self.sandboxes.values() if not s.setting_up)  # containerd lists none in the making
        return filter_sandboxes((s.view() for s in made), filter_)

    async def list_containers(self, filter_: d.ContainerFilter | None) -> list[d.Container]:
        return filter_containers((c.view() for c in self.containers.values()), filter_)

    async def container_status(self, container_id: str, *, verbose: bool) -> d.ContainerStatusResult:
        record = self.container(container_id)
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
        record = self.container(container_id)
        if record.state != RUNNING:
            raise FailedPrecondition(f"container {record.id} is not running")
        return record

    async def update_container_resources(
        self, container_id: str, linux: d.LinuxContainerResources | None, annotations: dict[str, str]
    ) -> None:
        record = self.container(container_id)
        if linux is None:
            return
        await self.creation_settled(record.id)
        record = self.container(record.id)
        resources = build_resources(linux, privileged=False)
        resources.pop("devices", None)
        if record.state in (RUNNING, d.ContainerState.CONTAINER_CREATED):
            await self.runc.update(record.id, resources)
        self.commit(dataclasses.replace(record, resources=linux))

    async def reopen_container_log(self, container_id: str) -> None:
        record = self._running(container_id)
        if not record.log_path:
            return
        await conmon.reopen_log(self.conmon_view(record).ctl_path, Path(record.log_path))

    async def exec_sync(self, container_id: str, cmd: tuple[str, ...], *, timeout: int) -> d.ExecSyncResult:
        record = self._running(container_id)
        failpoints.hit("runc.exec_sync")
        return await exec_sync(self.conmon, record.id, self.paths.bundle(record.id), cmd, timeout=timeout)

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
        sandbox = self.sandbox(spec.pod_sandbox_id)
        if not sandbox.ready:
            raise FailedPrecondition(f"pod sandbox {sandbox.id} is not ready")
        return self._streaming().port_forward_url(spec)

    async def checkpoint_container(self, spec: CheckpointSpec) -> None:
        self.container(spec.container_id)
        raise Unimplemented("checkpointing needs CRIU, which is not installed")

    # stats
    def _container_stats(self, record: ContainerRecord) -> d.ContainerStats:
        """A running container's usage; only the writable layer of a created or exited one (as containerd)."""
        sample = cgroups.sample(record.cgroups_path) if record.state == RUNNING else None
        upper = self.paths.container_root(record.id) / "upper"
        used, inodes = _disk_usage(upper)
        return d.ContainerStats(
            attributes=d.ContainerAttributes(
                id=record.id,
                metadata=record.metadata,
                labels=record.config.labels,
                annotations=record.config.annotations,
            ),
            cpu=sample.cpu if sample else None,
            memory=sample.memory if sample else None,
            writable_layer=d.FilesystemUsage(
                timestamp=sample.cpu.timestamp if sample else time.time_ns(),
                fs_id=d.FilesystemIdentifier(mountpoint=str(upper)),
                used_bytes=used,
                inodes_used=inodes,
            ),
        )

    def _running_in(self, sandbox_id: str) -> list[ContainerRecord]:
        """On the event loop: the container table changes there, so worker threads never iterate it."""
        return [c for c in self.containers.values() if c.sandbox_id == sandbox_id and c.state == RUNNING]

    def _sandbox_stats(self, record: SandboxRecord, running: list[ContainerRecord]) -> d.PodSandboxStats:
        containers = tuple(self._container_stats(c) for c in running)
        network = (
            read_netns_usage(record.netns)
            if record.netns
            else next((u for c in running if (u := read_network_usage(c.pid)) is not None), None)
        )
        sample = cgroups.sample(record.cgroup_parent)
        return d.PodSandboxStats(
            attributes=d.PodSandboxAttributes(
                id=record.id,
                metadata=record.metadata,
                labels=record.config.labels,
                annotations=record.config.annotations,
            ),
            linux=d.LinuxPodSandboxStats(
                cpu=sample.cpu,
                memory=sample.memory,
                containers=containers,
                network=network,
                process=d.ProcessUsage(timestamp=sample.cpu.timestamp, process_count=sample.process_count),
            ),
        )

    async def container_stats(self, container_id: str) -> d.ContainerStats:
        return await asyncio.to_thread(self._container_stats, self.container(container_id))

    async def list_container_stats(self, filter_: d.ContainerStatsFilter | None) -> list[d.ContainerStats]:
        f = filter_ or d.ContainerStatsFilter()
        chosen = [
            c
            for c in self.containers.values()
            if c.id.startswith(f.id)
            and c.sandbox_id.startswith(f.pod_sandbox_id)
            and labels_match(f.label_selector, c.config.labels)
        ]
        return await asyncio.to_thread(lambda: [self._container_stats(c) for c in chosen])

    async def pod_sandbox_stats(self, pod_sandbox_id: str) -> d.PodSandboxStats:
        record = self.sandbox(pod_sandbox_id)
        return await asyncio.to_thread(self._sandbox_stats, record, self._running_in(record.id))

    async def list_pod_sandbox_stats(
        self, filter_: d.PodSandboxStatsFilter | None
    ) -> list[d.PodSandboxStats]:
        f = filter_ or d.PodSandboxStatsFilter()
        chosen = [
            (s, self._running_in(s.id))
            for s in self.sandboxes.values()
            if s.ready
            and not s.setting_up
            and s.id.startswith(f.id)
            and labels_match(f.label_selector, s.config.labels)
        ]
        return await asyncio.to_thread(lambda: [self._sandbox_stats(s, running) for s, running in chosen])

    async def list_metric_descriptors(self) -> list[d.MetricDescriptor]:
        return []

    async def list_pod_sandbox_metrics(self) -> list[d.PodSandboxMetrics]:
        return []

    # runtime
    async def version(self) -> d.RuntimeVersion:
        return d.RuntimeVersion(
            version="0.1.0",
            runtime_name="tinykube-runc",
            runtime_version=project_version(),
            runtime_api_version="v1",
        )

    async def status(self, *, verbose: bool) -> d.StatusResult:
        network = await asyncio.to_thread(self.network)
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
        return self.events.subscribe()


def _disk_usage(path: os.PathLike[str]) -> tuple[int, int]:
    used = inodes = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames + dirnames:
            inodes += 1
            try:
                used += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                continue
    return used, inodes


def _namespace_entries(record: SandboxRecord) -> list[dict[str, str]]:
    """The pod's pinned namespaces as containerd's inspectp shows them (runtimeSpec.linux.namespaces)."""
    pinned = (("network", record.netns), ("ipc", record.ipc_ns), ("uts", record.uts_ns))
    return [{"type": kind, "path": path} for kind, path in pinned if path]
