"""RunPodSandbox, StopPodSandbox, RemovePodSandbox, and the cascade to the sandbox's containers."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
import time

from cri import domain as d
from cri.backend import SandboxResourcesUpdate
from cri.errors import FailedPrecondition, InvalidArgument
from cri.ids import new_id
from cri.views import namespace_options
from shims.node import cgroups, cni, infra
from shims.node.pidwait import PidWatchers
from shims.node.podhost import PodHost, PodPins
from shims.node.sysctls import refused_sysctl
from shims.runc.containers import ContainerManager, Table
from shims.runc.paths import Paths
from shims.runc.records import SandboxRecord

log = logging.getLogger("shims.runc")
NODE = d.NamespaceMode.NODE
EVENT = d.ContainerEventType
STOP_KILL_TIMEOUT = 0


class SandboxManager:
    def __init__(
        self,
        table: Table,
        containers: ContainerManager,
        host: PodHost,
        *,
        paths: Paths,
        cgroup_parent: str,
        owner_environment: dict[str, str],
    ) -> None:
        self.table = table
        self.containers = containers
        self.host = host
        self.paths = paths
        self._cgroup_parent = cgroup_parent
        self._owner_environment = owner_environment
        self._infra_watchers = PidWatchers()
        self._locks: dict[str, asyncio.Lock] = {}
        """One Stop/RemovePodSandbox at a time per sandbox (the kubelet's pod worker and GC race)."""

    # run
    async def run(self, config: d.PodSandboxConfig, *, runtime_handler: str) -> str:
        if runtime_handler not in ("", "runc"):
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
        pins = PodPins.planned(self.paths.sandbox_dir(sandbox_id), options)
        record = SandboxRecord(
            id=sandbox_id,
            config=config,
            runtime_handler=runtime_handler,
            created_at=time.time_ns(),
            cgroup_parent=parent or f"{self._cgroup_parent}/{sandbox_id}",
            netns=pins.netns,
            ipc_ns=pins.ipc_ns,
            uts_ns=pins.uts_ns,
            setting_up=True,
        )
        self.table.commit(record, durable=False)
        try:
            record = dataclasses.replace(await self._set_up(record, network), setting_up=False)
            self.table.commit(record)  # a full disk here undoes the sandbox too
        except BaseException:
            await asyncio.shield(self.discard(self.table.get_sandbox(record.id) or record))
            raise
        self._watch_infra(record)
        log.info("pod sandbox ready id=%s name=%s ips=%s", record.id, record.metadata.name, record.ips)
        self.table.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        self.table.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        return record.id

    async def _set_up(self, record: SandboxRecord, network: cni.NetworkList | None) -> SandboxRecord:
        """Each step's result is saved before the next step, so a crash leaves what recovery can undo."""
        directory = self.paths.sandbox_dir(record.id)
        # No hostname: the node's, as containerd and CRI-O do (a pod name may exceed 64 characters).
        hostname = record.config.hostname or socket.gethostname()
        await self.host.pin(directory, _pins(record), hostname=hostname)
        if record.namespace_options.pid == d.NamespaceMode.POD:
            owner = {**self._owner_environment, "TINYKUBE_POD_SANDBOX": record.id}
            process = await self.host.start_infra(record.id, owner=owner)
            record = dataclasses.replace(record, infra_pid=process.pid, infra_start_time=process.start_time)
            self.table.commit(record, durable=False)
        if network is not None and record.netns:
            record = dataclasses.replace(record, network_attached=True)
            self.table.commit(record, durable=False)
            attached = await self.host.attach(network, record.id, record.config, netns=record.netns)
            record = dataclasses.replace(record, ips=attached.ips, cni_result=attached.cni_result)
        await self.host.write_files(directory, record.config, hostname=hostname, ips=record.ips)
        return record

    async def _tear_down(self, record: SandboxRecord) -> None:
        """Release infra process, network (CNI DEL even when the netns is gone), namespaces, /dev/shm."""
        try:
            await self.host.stop_infra(record.id, record.infra)
            if record.network_attached:
                await self.host.detach(
                    record.id, record.config, netns=record.netns, cni_result=record.cni_result
                )
        finally:  # the pins and /dev/shm are mounts: they go even when a step before failed
            await self.host.unpin(self.paths.sandbox_dir(record.id), _pins(record))

    async def discard(self, record: SandboxRecord) -> None:
        """All the sandbox holds on the host, then its record (for one whose containers are gone)."""
        await self._release(record)
        self.table.forget(record)

    async def _release(self, record: SandboxRecord) -> None:
        await self._tear_down(record)
        own = record.cgroup_parent if record.cgroup_parent.startswith(f"{self._cgroup_parent}/") else ""
        await self.host.remove(self.paths.sandbox_dir(record.id), own_cgroup=own)

    # stop, remove
    async def stop(self, pod_sandbox_id: str) -> None:
        record = self.table.maybe_sandbox(pod_sandbox_id)
        if record is None:
            return
        async with self._locks.setdefault(record.id, asyncio.Lock()):
            await self._stop(record.id)

    async def _stop(self, sandbox_id: str) -> None:
        if self.table.get_sandbox(sandbox_id) is None:  # removed while this call waited for the lock
            return
        for container in self.table.containers_of(sandbox_id):
            await self.containers.stop(container.id, timeout=STOP_KILL_TIMEOUT)
        record = self.table.sandboxes[sandbox_id]
        was_ready = record.ready
        if was_ready:
            self.table.commit(dataclasses.replace(record, ready=False), durable=False)
        await self._tear_down(record)
        # the address is released: reporting it would give two sandboxes one IP once it is reused
        stopped = dataclasses.replace(record, ready=False, network_attached=False, ips=())
        if stopped != record:
            self.table.commit(stopped)
        if was_ready:
            log.info("pod sandbox stopped id=%s", record.id)
            self.table.publish(record.id, EVENT.CONTAINER_STOPPED_EVENT)

    async def remove(self, pod_sandbox_id: str) -> None:
        record = self.table.maybe_sandbox(pod_sandbox_id)
        if record is None:
            return
        async with self._locks.setdefault(record.id, asyncio.Lock()):
            if self.table.get_sandbox(record.id) is None:  # removed while this call waited for the lock
                return
            await self._stop(record.id)
            for container in self.table.containers_of(record.id):
                await self.containers.remove(container.id)
            await self._release(self.table.sandboxes[record.id])
            self.table.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
            self.table.forget(record)
        self._locks.pop(record.id, None)
        log.info("pod sandbox removed id=%s", record.id)

    async def update_resources(self, update: SandboxResourcesUpdate) -> None:
        """UpdatePodSandboxResources: write the pod's totals (containers plus overhead) to its cgroup.

        The sandbox's cgroup is the parent of all its containers' cgroups: the kubelet's pod cgroup
        when it names one, else ``<cgroup_parent>/<sandbox id>`` of our own.
        """
        record = self.table.sandbox(update.pod_sandbox_id)
        resources = update.resources or d.LinuxContainerResources()
        overhead = update.overhead or d.LinuxContainerResources()
        for field_name, requested in (("resources", resources), ("overhead", overhead)):
            problem = cgroups.invalid_limits(requested)
            if problem is not None:
                raise InvalidArgument(f"{field_name}: {problem}")
        if not record.ready:
            raise FailedPrecondition(f"pod sandbox {record.id} is not ready")
        limits = cgroups.pod_limits(resources, overhead)
        try:
            await asyncio.to_thread(cgroups.apply_limits, record.cgroup_parent, limits)
        except cgroups.CgroupWriteError as exc:
            refused = InvalidArgument if exc.errno == errno.EINVAL else FailedPrecondition
            raise refused(f"pod sandbox {record.id}: {exc.message}") from exc
        log.info("pod sandbox resources applied id=%s cgroup=%s %s", record.id, record.cgroup_parent, limits)

    # recovery
    def adopt(self, record: SandboxRecord) -> None:
        """A sandbox read back from disk: held again, its infra process followed or found ended."""
        self.table.adopt(record)
        if record.infra is None or not record.ready:
            return
        if infra.is_alive(record.infra):
            self._watch_infra(record)
        else:
            log.info("recovery: the infra process of pod sandbox %s ended while down", record.id)
            self.table.commit(dataclasses.replace(record, ready=False), durable=False)

    async def release_lost(self, sandbox_id: str) -> None:
        """What the host may still hold for a sandbox whose record is gone (unreadable, or never
        written): infra processes, CNI address, cgroup. Its directory is for recovery to clean."""
        log.info("recovery: releasing what pod sandbox %s without a record holds", sandbox_id)
        owner = {**self._owner_environment, "TINYKUBE_POD_SANDBOX": sandbox_id}
        await self.host.release_lost(sandbox_id, owner=owner, cgroup=f"{self._cgroup_parent}/{sandbox_id}")

    def _watch_infra(self, record: SandboxRecord) -> None:
        """A pod whose infra process dies is NOTREADY."""
        if record.infra is not None:
            self._infra_watchers.follow(record.id, record.infra_pid, lambda: self._infra_ended(record.id))

    async def _infra_ended(self, sandbox_id: str) -> None:
        record = self.table.get_sandbox(sandbox_id)
        if record is not None and record.ready:
            self.table.commit(dataclasses.replace(record, ready=False), durable=False)
            log.info("pod sandbox infra process ended id=%s", sandbox_id)
            self.table.publish(sandbox_id, EVENT.CONTAINER_STOPPED_EVENT)

    async def close(self) -> None:
        await self._infra_watchers.close()


def _pins(record: SandboxRecord) -> PodPins:
    return PodPins(netns=record.netns, ipc_ns=record.ipc_ns, uts_ns=record.uts_ns)
