"""RunPodSandbox, StopPodSandbox, RemovePodSandbox: the host side from ``shims.node.podhost``
(namespaces, /dev/shm, CNI, pod files), the infra container in containerd, with the pod's record in
its extension."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from pathlib import Path

from cri import domain as d
from cri.errors import FailedPrecondition, InvalidArgument
from cri.ids import new_id
from cri.table import RecordTable
from cri.views import namespace_options
from shims.containerd import infra
from shims.containerd.client import Client
from shims.containerd.containers import ContainerManager
from shims.containerd.images import ContainerdImages
from shims.containerd.records import ContainerRecord, SandboxRecord, extension_of
from shims.node import cni
from shims.node.ocispec import HOST, PodNamespaces
from shims.node.podhost import PodHost, PodPins
from shims.node.specinputs import RuntimeLimits
from shims.node.sysctls import refused_sysctl

log = logging.getLogger("shims.containerd")
NODE = d.NamespaceMode.NODE
EVENT = d.ContainerEventType
RUNTIME_HANDLERS = ("", "runc")

Table = RecordTable[SandboxRecord, ContainerRecord]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class SandboxSettings:
    state_dir: Path
    sandbox_image: str
    cgroup_parent: str


class SandboxManager:
    def __init__(
        self,
        table: Table,
        containers: ContainerManager,
        *,
        client: Client,
        images: ContainerdImages,
        host: PodHost,
        settings: SandboxSettings,
        limits: RuntimeLimits,
    ) -> None:
        self.table = table
        self.containers = containers
        self.client = client
        self.images = images
        self.host = host
        self.settings = settings
        self._limits = limits
        self._locks: dict[str, asyncio.Lock] = {}

    def directory(self, sandbox_id: str) -> Path:
        return self.settings.state_dir / "sandboxes" / sandbox_id

    # run
    async def run(self, config: d.PodSandboxConfig, *, runtime_handler: str) -> str:
        if runtime_handler not in RUNTIME_HANDLERS:
            raise InvalidArgument(f"unknown runtime handler {runtime_handler!r}; this runtime has only runc")
        refused = refused_sysctl(config.linux.sysctls if config.linux else {}, namespace_options(config))
        if refused is not None:
            raise InvalidArgument(refused)
        return await self.table.create_sandbox(config, lambda: self._make(config, runtime_handler))

    async def _make(self, config: d.PodSandboxConfig, runtime_handler: str) -> str:
        options = namespace_options(config)
        network = None if options.network == NODE else await asyncio.to_thread(self.host.network)
        if options.network != NODE and network is None:
            raise FailedPrecondition(f"network plugin not ready: no CNI config in {self.host.cni_conf_dir}")
        sandbox_id = new_id()
        parent = config.linux.cgroup_parent if config.linux and config.linux.cgroup_parent else ""
        pins = PodPins.planned(self.directory(sandbox_id), options)
        record = SandboxRecord(
            id=sandbox_id,
            config=config,
            runtime_handler=runtime_handler,
            created_at=time.time_ns(),
            cgroup_parent=parent or f"{self.settings.cgroup_parent}/{sandbox_id}",
            netns=pins.netns,
            ipc_ns=pins.ipc_ns,
            uts_ns=pins.uts_ns,
            setting_up=True,
        )
        self.table.commit(record)
        try:
            record = await self._set_up(record, network)
        except BaseException:
            await asyncio.shield(self.discard(self.table.get_sandbox(record.id) or record))
            raise
        self.table.commit(record)
        log.info("pod sandbox ready id=%s name=%s ips=%s", record.id, record.metadata.name, record.ips)
        self.table.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        self.table.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        return record.id

    async def _set_up(self, record: SandboxRecord, network: cni.NetworkList | None) -> SandboxRecord:
        directory = self.directory(record.id)
        hostname = record.config.hostname or socket.gethostname()
        await self.host.pin(directory, _pins(record), hostname=hostname)
        if network is not None and record.netns:
            record = dataclasses.replace(record, network_attached=True)
            self.table.commit(record)
            attached = await self.host.attach(network, record.id, record.config, netns=record.netns)
            record = dataclasses.replace(record, ips=attached.ips, cni_result=attached.cni_result)
            self.table.commit(record)
        await self.host.write_files(directory, record.config, hostname=hostname, ips=record.ips)
        ready = dataclasses.replace(record, setting_up=False)
        pid = await infra.start_infra(self.client, self.images, self._infra_spec(ready))
        return dataclasses.replace(ready, infra_pid=pid)

    def _infra_spec(self, record: SandboxRecord) -> infra.InfraSpec:
        meta = record.metadata
        return infra.InfraSpec(
            sandbox_id=record.id,
            sandbox_image=self.settings.sandbox_image,
            namespaces=PodNamespaces(
                network=record.netns or HOST,
                ipc=record.ipc_ns or HOST,
                uts=record.uts_ns or HOST,
                pid=HOST if record.namespace_options.pid == NODE else None,
            ),
            cgroups_path=f"{record.cgroup_parent}/tkctr-{record.id}",
            oom_score_adj_floor=self._limits.oom_score_adj_floor,
            labels={
                "io.kubernetes.pod.name": meta.name,
                "io.kubernetes.pod.namespace": meta.namespace,
                "io.kubernetes.pod.uid": meta.uid,
            },
            extensions=extension_of(record),
        )

    async def _tear_down(self, record: SandboxRecord) -> None:
        await infra.stop_infra(self.client, record.id)
        if record.network_attached:
            await self.host.detach(record.id, record.config, netns=record.netns, cni_result=record.cni_result)
        await self.host.unpin(self.directory(record.id), _pins(record))

    async def discard(self, record: SandboxRecord) -> None:
        """All the sandbox holds in containerd and on the host, then its record."""
        await self._tear_down(record)
        await infra.remove_infra(self.client, record.id)
        own = (
            record.cgroup_parent if record.cgroup_parent.startswith(f"{self.settings.cgroup_parent}/") else ""
        )
        await self.host.remove(self.directory(record.id), own_cgroup=own)
        self.table.forget(record)

    # stop, remove
    async def stop(self, pod_sandbox_id: str) -> None:
        record = self.table.maybe_sandbox(pod_sandbox_id)
        if record is None:
            return
        async with self._locks.setdefault(record.id, asyncio.Lock()):
            await self._stop(record.id)

    async def _stop(self, sandbox_id: str) -> None:
        if self.table.get_sandbox(sandbox_id) is None:
            return
        for container in self.table.containers_of(sandbox_id):
            await self.containers.stop(container.id, timeout=0)
        record = self.table.sandboxes[sandbox_id]
        was_ready = record.ready
        if was_ready:
            self.table.commit(dataclasses.replace(record, ready=False))
        await self._tear_down(record)
        stopped = dataclasses.replace(record, ready=False, network_attached=False, ips=())
        self.table.commit(stopped)
        if was_ready:
            log.info("pod sandbox stopped id=%s", record.id)
            self.table.publish(record.id, EVENT.CONTAINER_STOPPED_EVENT)

    async def remove(self, pod_sandbox_id: str) -> None:
        record = self.table.maybe_sandbox(pod_sandbox_id)
        if record is None:
            return
        async with self._locks.setdefault(record.id, asyncio.Lock()):
            if self.table.get_sandbox(record.id) is None:
                return
            await self._stop(record.id)
            for container in self.table.containers_of(record.id):
                await self.containers.remove(container.id)
            current = self.table.sandboxes[record.id]
            self.table.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
            await self.discard(current)
        self._locks.pop(record.id, None)
        log.info("pod sandbox removed id=%s", record.id)

    # exits
    def infra_exited(self, sandbox_id: str) -> None:
        """A pod whose infra task ended is NOTREADY."""
        record = self.table.get_sandbox(sandbox_id)
        if record is not None and record.ready and not record.setting_up:
            self.table.commit(dataclasses.replace(record, ready=False))
            log.info("pod sandbox infra task ended id=%s", sandbox_id)
            self.table.publish(sandbox_id, EVENT.CONTAINER_STOPPED_EVENT)


def _pins(record: SandboxRecord) -> PodPins:
    return PodPins(netns=record.netns, ipc_ns=record.ipc_ns, uts_ns=record.uts_ns)
