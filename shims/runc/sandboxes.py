"""RunPodSandbox, StopPodSandbox, RemovePodSandbox: pinned namespaces, pod files, /dev/shm and CNI."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import shutil
import socket
import time
from pathlib import Path

from cri import domain as d
from cri.backend import SandboxResourcesUpdate
from cri.errors import FailedPrecondition, InvalidArgument
from cri.ids import new_id, sandbox_name
from cri.views import namespace_options
from shims.node import cgroups, cni, infra, mounts, namespaces
from shims.node.podfiles import PodFilePaths, write_pod_files
from shims.node.sysctls import refused_sysctl
from shims.runc.records import SandboxRecord
from shims.runc.state import RuncState, log

NODE = d.NamespaceMode.NODE
EVENT = d.ContainerEventType
STOP_KILL_TIMEOUT = 0
INFRA_EXIT_TIMEOUT = 10.0


class SandboxOps(RuncState):
    def network(self) -> cni.NetworkList | None:
        return cni.find_network(self.config.cni_conf_dir)

    def attachment(self, record: SandboxRecord, *, netns: str) -> cni.Attachment:
        return cni.Attachment(
            container_id=record.id,
            netns=netns,
            pod_name=record.metadata.name,
            pod_namespace=record.metadata.namespace,
            port_mappings=record.config.port_mappings,
            dns=record.config.dns_config,
        )

    async def run_pod_sandbox(self, config: d.PodSandboxConfig, *, runtime_handler: str) -> str:
        meta = config.metadata
        assert meta is not None
        if runtime_handler not in ("", "runc"):
            raise InvalidArgument(f"unknown runtime handler {runtime_handler!r}; this runtime has only runc")
        refused = refused_sysctl(config.linux.sysctls if config.linux else {}, namespace_options(config))
        if refused is not None:
            raise InvalidArgument(refused)
        name = sandbox_name(meta.name, meta.namespace, meta.uid, meta.attempt)
        sandbox_id = await self.sandbox_names.create(
            name, lambda: self._make_sandbox(config, runtime_handler)
        )
        return sandbox_id

    async def _make_sandbox(self, config: d.PodSandboxConfig, runtime_handler: str) -> str:
        options = namespace_options(config)
        network = None if options.network == NODE else await asyncio.to_thread(self.network)
        if options.network != NODE and network is None:
            raise FailedPrecondition(f"network plugin not ready: no CNI config in {self.config.cni_conf_dir}")
        sandbox_id = new_id()
        directory = self.paths.sandbox_dir(sandbox_id)
        parent = config.linux.cgroup_parent if config.linux and config.linux.cgroup_parent else ""
        record = SandboxRecord(
            id=sandbox_id,
            config=config,
            runtime_handler=runtime_handler,
            created_at=time.time_ns(),
            cgroup_parent=parent or f"{self.config.cgroup_parent}/{sandbox_id}",
            netns=str(directory / "ns" / "net") if options.network != NODE else "",
            ipc_ns=str(directory / "ns" / "ipc") if options.ipc != NODE else "",
            uts_ns=str(directory / "ns" / "uts") if options.network != NODE else "",
            setting_up=True,
        )
        self.commit(record)
        try:
            record = await self._set_up(record, network)
        except BaseException:
            await asyncio.shield(self._tear_down(self.sandboxes.pop(record.id, record), remove=True))
            raise
        record = dataclasses.replace(record, setting_up=False)
        self.commit(record)
        self.watch_infra(record)
        log.info("pod sandbox ready id=%s name=%s ips=%s", record.id, record.metadata.name, record.ips)
        self.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        self.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        return record.id

    async def _set_up(self, record: SandboxRecord, network: cni.NetworkList | None) -> SandboxRecord:
        directory = self.paths.sandbox_dir(record.id)
        # No hostname: the node's, as containerd and CRI-O do (a pod name may exceed 64 characters).
        hostname = record.config.hostname or socket.gethostname()
        files = PodFilePaths.under(directory)
        if record.netns or record.ipc_ns or record.uts_ns:
            await namespaces.pin(
                directory / "ns",
                network=bool(record.netns),
                ipc=bool(record.ipc_ns),
                uts=bool(record.uts_ns),
                hostname=hostname,
            )
        if record.ipc_ns:
            await asyncio.to_thread(mounts.mount_shm, files.shm)
        if record.namespace_options.pid == d.NamespaceMode.POD:
            owner = {"TINYKUBE_RUNC_STATE": str(self.config.state_dir), "TINYKUBE_POD_SANDBOX": record.id}
            started = await infra.start(self.config.pause_binary, environment=owner)
            self.infra_launchers[record.id] = started.launcher
            process = started.process
            record = dataclasses.replace(record, infra_pid=process.pid, infra_start_time=process.start_time)
            self.commit(record)
        ips: tuple[str, ...] = ()
        if network is not None and record.netns:
            record = dataclasses.replace(record, network_attached=True)
            self.commit(record)
            result = await cni.add(
                network, self.attachment(record, netns=record.netns), bin_dirs=self.config.cni_bin_dirs
            )
            ips = result.ips
            record = dataclasses.replace(record, ips=ips, cni_result=dict(result.raw))
        await asyncio.to_thread(write_pod_files, files, record.config, hostname=hostname, ips=ips)
        return record

    async def _tear_down(self, record: SandboxRecord, *, remove: bool) -> None:
        """Release infra process, network (CNI DEL even when the netns is gone), namespaces, /dev/shm."""
        if record.infra is not None:
            infra.stop(record.infra)
        launcher = self.infra_launchers.pop(record.id, None)
        if launcher is not None:
            await asyncio.wait_for(launcher.wait(), INFRA_EXIT_TIMEOUT)
        if record.network_attached:
            network = await asyncio.to_thread(self.network)
            if network is not None:
                alive = await asyncio.to_thread(namespaces.is_mountpoint, Path(record.netns))
                netns = record.netns if alive else ""
                if not alive:
                    log.warning("sandbox %s: its netns is gone; CNI DEL releases the address only", record.id)
                try:
                    await cni.delete(
                        network,
                        self.attachment(record, netns=netns),
                        bin_dirs=self.config.cni_bin_dirs,
                        prev_result=record.cni_result or None,
                    )
                except cni.CNIError as exc:
                    log.warning("CNI DEL failed for sandbox %s: %s", record.id, exc.message)
        directory = self.paths.sandbox_dir(record.id)
        pins = tuple(Path(p) for p in (record.netns, record.ipc_ns, record.uts_ns) if p)
        await asyncio.to_thread(namespaces.unpin_paths, pins)
        await asyncio.to_thread(namespaces.unmount, PodFilePaths.under(directory).shm)
        if remove:
            await asyncio.to_thread(shutil.rmtree, directory, True)
            if record.cgroup_parent.startswith(f"{self.config.cgroup_parent}/"):
                await asyncio.to_thread(cgroups.remove, record.cgroup_parent)
            self.store.delete(record)

    def _lifecycle_lock(self, sandbox_id: str) -> asyncio.Lock:
        return self.lifecycle_locks.setdefault(sandbox_id, asyncio.Lock())

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        record = self.maybe_sandbox(pod_sandbox_id)
        if record is None:
            return
        async with self._lifecycle_lock(record.id):
            await self._stop(record.id)

    async def _stop(self, sandbox_id: str) -> None:
        record = self.sandboxes.get(sandbox_id)
        if record is None:  # removed while this call waited for the lock
            return
        for container in [c for c in self.containers.values() if c.sandbox_id == record.id]:
            await self.stop_container(container.id, timeout=STOP_KILL_TIMEOUT)  # type: ignore[attr-defined]
        was_ready = record.ready
        record = dataclasses.replace(self.sandboxes[record.id], ready=False)
        self.commit(record)
        await self._tear_down(record, remove=False)
        if record.network_attached or record.ips:
            # the address is released: reporting it would give two sandboxes one IP once it is reused
            self.commit(dataclasses.replace(record, network_attached=False, ips=()))
        if was_ready:
            log.info("pod sandbox stopped id=%s", record.id)
            self.publish(record.id, EVENT.CONTAINER_STOPPED_EVENT)

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        record = self.maybe_sandbox(pod_sandbox_id)
        if record is None:
            return
        async with self._lifecycle_lock(record.id):
            if record.id not in self.sandboxes:  # removed while this call waited for the lock
                return
            await self._stop(record.id)
            for container in [c for c in self.containers.values() if c.sandbox_id == record.id]:
                await self.remove_container(container.id)  # type: ignore[attr-defined]
            await self._tear_down(self.sandboxes[record.id], remove=True)
            self.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
            del self.sandboxes[record.id]
            self.sandbox_names.release(record.id)
        self.lifecycle_locks.pop(record.id, None)
        log.info("pod sandbox removed id=%s", record.id)

    async def update_pod_sandbox_resources(self, update: SandboxResourcesUpdate) -> None:
        """UpdatePodSandboxResources: write the pod's totals (containers plus overhead) to its cgroup.

        The sandbox's cgroup is the parent of all its containers' cgroups: the kubelet's pod cgroup
        when it names one, else ``<cgroup_parent>/<sandbox id>`` of our own.
        """
        record = self.sandbox(update.pod_sandbox_id)
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
