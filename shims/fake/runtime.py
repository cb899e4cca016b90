"""The fake RuntimeService: the CRI state machine in memory, with nothing really running."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator, Callable

from cri import domain as d
from cri.backend import CheckpointSpec, SandboxResourcesUpdate
from cri.buildinfo import runtime_version
from cri.errors import FailedPrecondition, NotFound, Unimplemented
from cri.ids import new_id
from cri.streaming.types import AttachSpec, ExecSpec, PortForwardSpec
from cri.table import InMemory, RecordTable, TableViews
from cri.views import exit_reason
from shims.fake.faults import Faults
from shims.fake.images import FakeImages
from shims.fake.records import ContainerRecord, SandboxRecord, verbose_info

ExecHandler = Callable[[str, tuple[str, ...]], d.ExecSyncResult]
EVENT = d.ContainerEventType
SIGTERM_EXIT, SIGKILL_EXIT = 143, 137


def _default_exec(container_id: str, cmd: tuple[str, ...]) -> d.ExecSyncResult:
    return d.ExecSyncResult(stdout=b"", stderr=b"", exit_code=0)


class FakeRuntime(TableViews[SandboxRecord, ContainerRecord]):
    """Implements ``cri.backend.RuntimeBackend`` in memory.

    Test hooks: ``exit_container`` ends a container by itself; ``exec_handler`` answers ExecSync.
    """

    def __init__(self, images: FakeImages | None = None, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.images = images or FakeImages(self.faults)
        self.exec_handler: ExecHandler = _default_exec
        self.table = RecordTable[SandboxRecord, ContainerRecord](
            InMemory(), sandbox_type=SandboxRecord, container_type=ContainerRecord
        )
        self.pod_cidr = ""
        self._next_ip = 2

    def publish(self, object_id: str, kind: d.ContainerEventType) -> None:
        """Every event the fake makes goes through here (a test's broken fake replaces it)."""
        self.table.publish(object_id, kind)

    # sandboxes
    async def run_pod_sandbox(self, config: d.PodSandboxConfig, *, runtime_handler: str) -> str:
        self.faults.enter("run_pod_sandbox", config, runtime_handler)

        async def make() -> str:
            record = SandboxRecord(
                id=new_id(),
                config=config,
                runtime_handler=runtime_handler,
                created_at=time.time_ns(),
                ips=(f"10.240.{self._next_ip // 250}.{self._next_ip % 250 + 2}",),
            )
            self._next_ip += 1
            self.table.commit(record)
            return record.id

        sandbox_id = await self.table.create_sandbox(config, make)
        self.publish(sandbox_id, EVENT.CONTAINER_CREATED_EVENT)
        self.publish(sandbox_id, EVENT.CONTAINER_STARTED_EVENT)
        return sandbox_id

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self.faults.enter("stop_pod_sandbox", pod_sandbox_id)
        sandbox = self.table.maybe_sandbox(pod_sandbox_id)
        if sandbox is None:
            return
        for container in self.table.containers_of(sandbox.id):
            self._stop(container, exit_code=SIGKILL_EXIT)
        if sandbox.ready:
            self.table.commit(dataclasses.replace(sandbox, ready=False))
            self.publish(sandbox.id, EVENT.CONTAINER_STOPPED_EVENT)

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self.faults.enter("remove_pod_sandbox", pod_sandbox_id)
        sandbox = self.table.maybe_sandbox(pod_sandbox_id)
        if sandbox is None:
            return
        for container in self.table.containers_of(sandbox.id):
            self._remove(container)
        self.publish(sandbox.id, EVENT.CONTAINER_DELETED_EVENT)
        self.table.forget(sandbox)

    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool) -> d.PodSandboxStatusResult:
        self.faults.enter("pod_sandbox_status", pod_sandbox_id)
        sandbox = self.table.sandbox(pod_sandbox_id)
        return d.PodSandboxStatusResult(
            status=sandbox.status(), info=verbose_info(sandbox) if verbose else {}
        )

    async def list_pod_sandbox(self, filter_: d.PodSandboxFilter | None) -> list[d.PodSandbox]:
        self.faults.enter("list_pod_sandbox", filter_)
        return self.table.list_sandboxes(filter_)

    async def port_forward(self, spec: PortForwardSpec) -> str:
        self.faults.enter("port_forward", spec)
        self.table.sandbox(spec.pod_sandbox_id)
        raise Unimplemented("the fake runtime has no streaming server")

    async def update_pod_sandbox_resources(self, update: SandboxResourcesUpdate) -> None:
        self.faults.enter("update_pod_sandbox_resources", update)
        self.table.sandbox(update.pod_sandbox_id)

    # containers
    async def create_container(
        self, pod_sandbox_id: str, config: d.ContainerConfig, sandbox_config: d.PodSandboxConfig
    ) -> str:
        self.faults.enter("create_container", pod_sandbox_id, config)
        sandbox = self.table.sandbox(pod_sandbox_id)
        if not sandbox.ready:
            raise FailedPrecondition(f"pod sandbox {sandbox.id} is not ready")
        assert config.metadata is not None and config.image is not None
        image = self.images.find(config.image.image)
        if image is None:
            raise NotFound(f"image {config.image.image!r} not found: pull it first")

        async def make() -> str:
            record = ContainerRecord(
                id=new_id(),
                sandbox_id=sandbox.id,
                config=config,
                log_path=os.path.join(sandbox.config.log_directory, config.log_path)
                if config.log_path
                else "",
                image_ref=image.id,
                created_at=time.time_ns(),
                resources=config.linux.resources if config.linux else None,
            )
            self.table.commit(record)
            return record.id

        container_id = await self.table.create_container(sandbox, config, make)
        self.publish(container_id, EVENT.CONTAINER_CREATED_EVENT)
        return container_id

    async def start_container(self, container_id: str) -> None:
        self.faults.enter("start_container", container_id)
        container = self.table.container(container_id)
        if container.state != d.ContainerState.CONTAINER_CREATED:
            raise FailedPrecondition(f"container {container.id} is {container.state.name}, not CREATED")
        self.table.commit(dataclasses.replace(container, started_at=time.time_ns()))
        self.publish(container.id, EVENT.CONTAINER_STARTED_EVENT)

    def _stop(self, container: ContainerRecord, *, exit_code: int) -> None:
        if container.state == d.ContainerState.CONTAINER_EXITED:
            return
        if container.state == d.ContainerState.CONTAINER_CREATED:
            exit_code = 0
        self.table.commit(
            container.exited(at=time.time_ns(), exit_code=exit_code, reason=exit_reason(exit_code))
        )
        self.publish(container.id, EVENT.CONTAINER_STOPPED_EVENT)

    def _remove(self, container: ContainerRecord) -> None:
        self._stop(container, exit_code=SIGKILL_EXIT)
        self.publish(container.id, EVENT.CONTAINER_DELETED_EVENT)
        self.table.forget(container)

    async def stop_container(self, container_id: str, *, timeout: int) -> None:
        self.faults.enter("stop_container", container_id, timeout)
        container = self.table.maybe_container(container_id)
        if container is not None:
            self._stop(container, exit_code=SIGKILL_EXIT if timeout == 0 else SIGTERM_EXIT)

    async def remove_container(self, container_id: str) -> None:
        self.faults.enter("remove_container", container_id)
        container = self.table.maybe_container(container_id)
        if container is not None:
            self._remove(container)

    def exit_container(self, container_id: str, exit_code: int, *, reason: str = "") -> None:
        """Test hook: the container's process ends by itself."""
        container = self.table.container(container_id)
        self.table.commit(
            container.exited(at=time.time_ns(), exit_code=exit_code, reason=reason or exit_reason(exit_code))
        )
        self.publish(container.id, EVENT.CONTAINER_STOPPED_EVENT)

    async def list_containers(self, filter_: d.ContainerFilter | None) -> list[d.Container]:
        self.faults.enter("list_containers", filter_)
        return self.table.list_containers(filter_)

    async def container_status(self, container_id: str, *, verbose: bool) -> d.ContainerStatusResult:
        self.faults.enter("container_status", container_id)
        container = self.table.container(container_id)
        return d.ContainerStatusResult(
            status=container.status(), info=verbose_info(container) if verbose else {}
        )

    async def update_container_resources(
        self, container_id: str, linux: d.LinuxContainerResources | None, annotations: dict[str, str]
    ) -> None:
        self.faults.enter("update_container_resources", container_id, linux)
        container = self.table.container(container_id)
        if linux is not None:
            self.table.commit(dataclasses.replace(container, resources=linux))

    def _running(self, container_id: str) -> ContainerRecord:
        container = self.table.container(container_id)
        if container.state != d.ContainerState.CONTAINER_RUNNING:
            raise FailedPrecondition(f"container {container.id} is not running")
        return container

    async def reopen_container_log(self, container_id: str) -> None:
        self.faults.enter("reopen_container_log", container_id)
        self._running(container_id)

    async def exec_sync(self, container_id: str, cmd: tuple[str, ...], *, timeout: int) -> d.ExecSyncResult:
        self.faults.enter("exec_sync", container_id, cmd, timeout)
        return self.exec_handler(self._running(container_id).id, cmd)

    async def exec(self, spec: ExecSpec) -> str:
        self.faults.enter("exec", spec)
        self._running(spec.container_id)
        raise Unimplemented("the fake runtime has no streaming server")

    async def attach(self, spec: AttachSpec) -> str:
        self.faults.enter("attach", spec)
        self._running(spec.container_id)
        raise Unimplemented("the fake runtime has no streaming server")

    async def checkpoint_container(self, spec: CheckpointSpec) -> None:
        self.faults.enter("checkpoint_container", spec)
        self.table.container(spec.container_id)
        raise Unimplemented("the fake runtime cannot checkpoint")

    # stats
    def _container_stats(self, container: ContainerRecord) -> d.ContainerStats:
        """A running container's usage; only the writable layer of a created or exited one (as containerd)."""
        now = time.time_ns()
        running = container.state == d.ContainerState.CONTAINER_RUNNING
        cpu = d.CpuUsage(timestamp=now, usage_core_nano_seconds=0, usage_nano_cores=0)
        memory = d.MemoryUsage(timestamp=now, working_set_bytes=0, usage_bytes=0, rss_bytes=0)
        return d.ContainerStats(
            attributes=d.ContainerAttributes(
                id=container.id,
                metadata=container.config.metadata,
                labels=container.config.labels,
                annotations=container.config.annotations,
            ),
            cpu=cpu if running else None,
            memory=memory if running else None,
            writable_layer=d.FilesystemUsage(timestamp=now, used_bytes=0, inodes_used=0),
        )

    def _sandbox_stats(self, sandbox: SandboxRecord) -> d.PodSandboxStats:
        containers = tuple(self._container_stats(c) for c in self.table.running_in(sandbox.id))
        now = time.time_ns()
        return d.PodSandboxStats(
            attributes=d.PodSandboxAttributes(
                id=sandbox.id,
                metadata=sandbox.metadata,
                labels=sandbox.config.labels,
                annotations=sandbox.config.annotations,
            ),
            linux=d.LinuxPodSandboxStats(
                cpu=d.CpuUsage(timestamp=now, usage_core_nano_seconds=0),
                memory=d.MemoryUsage(timestamp=now, working_set_bytes=0),
                process=d.ProcessUsage(timestamp=now, process_count=len(containers)),
                containers=containers,
            ),
        )

    async def container_stats(self, container_id: str) -> d.ContainerStats:
        self.faults.enter("container_stats", container_id)
        return self._container_stats(self.table.container(container_id))

    async def list_container_stats(self, filter_: d.ContainerStatsFilter | None) -> list[d.ContainerStats]:
        self.faults.enter("list_container_stats", filter_)
        return [self._container_stats(c) for c in self.table.select_container_stats(filter_)]

    async def pod_sandbox_stats(self, pod_sandbox_id: str) -> d.PodSandboxStats:
        self.faults.enter("pod_sandbox_stats", pod_sandbox_id)
        return self._sandbox_stats(self.table.sandbox(pod_sandbox_id))

    async def list_pod_sandbox_stats(
        self, filter_: d.PodSandboxStatsFilter | None
    ) -> list[d.PodSandboxStats]:
        self.faults.enter("list_pod_sandbox_stats", filter_)
        return [self._sandbox_stats(s) for s in self.table.select_sandbox_stats(filter_)]

    async def list_metric_descriptors(self) -> list[d.MetricDescriptor]:
        self.faults.enter("list_metric_descriptors")
        return []

    async def list_pod_sandbox_metrics(self) -> list[d.PodSandboxMetrics]:
        self.faults.enter("list_pod_sandbox_metrics")
        return []

    # runtime
    async def version(self) -> d.RuntimeVersion:
        self.faults.enter("version")
        return runtime_version("tinykube-fake")

    async def status(self, *, verbose: bool) -> d.StatusResult:
        self.faults.enter("status", verbose)
        conditions = (
            d.RuntimeCondition(type="RuntimeReady", status=True),
            d.RuntimeCondition(type="NetworkReady", status=True),
        )
        info = {"config": json.dumps({"backend": "fake", "podCIDR": self.pod_cidr})} if verbose else {}
        return d.StatusResult(
            status=d.RuntimeStatus(conditions=conditions),
            info=info,
            runtime_handlers=(d.RuntimeHandler(name="", features=d.RuntimeHandlerFeatures()),),
            features=d.RuntimeFeatures(),
        )

    async def runtime_config(self) -> d.RuntimeConfigInfo:
        self.faults.enter("runtime_config")
        return d.RuntimeConfigInfo(linux=d.LinuxRuntimeConfiguration(cgroup_driver=d.CgroupDriver.CGROUPFS))

    async def update_runtime_config(self, config: d.RuntimeConfig) -> None:
        self.faults.enter("update_runtime_config", config)
        if config.network_config is not None:
            self.pod_cidr = config.network_config.pod_cidr

    def container_events(self) -> AsyncIterator[d.ContainerEvent]:
        self.faults.enter("container_events")
        return self.events.subscribe()
