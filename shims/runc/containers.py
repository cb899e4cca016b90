"""CreateContainer, StartContainer, StopContainer, RemoveContainer over conmon + runc."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import FailedPrecondition, Internal, InvalidArgument, NotFound
from cri.ids import container_name, new_id
from shims.node import conmon, mounts
from shims.node.identity import resolve_user
from shims.node.ocispec import HOST, PodFiles, PodNamespaces, SpecInputs, build_spec
from shims.node.pidwait import wait_for_pid_exit
from shims.node.podfiles import PodFilePaths
from shims.node.seccomp import localhost_profile_path
from shims.runc.images import RuntimeImage
from shims.runc.records import ContainerRecord, SandboxRecord
from shims.runc.state import RuncState, log

EVENT = d.ContainerEventType
STATES = d.ContainerState
KILL_WAIT_SECONDS = 10.0
CREATE_FAILED_EXIT_CODE = 128
CREATE_FAILED_REASON = "StartError"


class ContainerOps(RuncState):
    async def create_container(
        self, pod_sandbox_id: str, config: d.ContainerConfig, sandbox_config: d.PodSandboxConfig
    ) -> str:
        sandbox = self.sandbox(pod_sandbox_id)
        if not sandbox.ready:
            raise FailedPrecondition(f"pod sandbox {sandbox.id} is not ready")
        assert config.metadata is not None and config.image is not None
        image = await self.images.resolve(config.image.image)
        pod = sandbox.metadata
        name = container_name(config.metadata.name, pod.name, pod.namespace, pod.uid, config.metadata.attempt)
        container_id = await self.container_names.create(name, lambda: self._make(sandbox, config, image))
        return container_id

    async def _make(self, sandbox: SandboxRecord, config: d.ContainerConfig, image: RuntimeImage) -> str:
        container_id = new_id()
        log_directory = sandbox.config.log_directory
        log_path = os.path.join(log_directory, config.log_path) if config.log_path and log_directory else ""
        record = ContainerRecord(
            id=container_id,
            sandbox_id=sandbox.id,
            config=config,
            image_ref=image.id,
            image_id=image.id,
            log_path=log_path,
            cgroups_path=f"{sandbox.cgroup_parent}/tkrunc-{container_id}",
            created_at=time.time_ns(),
            resources=config.linux.resources if config.linux else None,
        )
        self.commit(record)
        try:
            record = await self._prepare(record, sandbox, image)
            self.commit(record)
        except BaseException:
            await asyncio.shield(self._destroy(record))
            self.store.delete(record)
            self.containers.pop(record.id, None)
            raise
        self.begin_creation(record)
        log.info("container created id=%s name=%s sandbox=%s", record.id, record.metadata.name, sandbox.id)
        self.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        return record.id

    async def _prepare(
        self, record: ContainerRecord, sandbox: SandboxRecord, image: RuntimeImage
    ) -> ContainerRecord:
        """Everything CreateContainer can check and make before conmon: mounts, rootfs, OCI bundle."""
        config = record.config
        security = config.linux.security_context if config.linux else None
        options = security.namespace_options if security else None
        if options is not None and options.pid == d.NamespaceMode.TARGET:
            await self.creation_settled(self.container(options.target_id).id)
        resolved_mounts = tuple(
            [await self._resolve_mount(record, m, n) for n, m in enumerate(config.mounts)]
        )
        config = dataclasses.replace(config, mounts=resolved_mounts)
        spec_inputs = await asyncio.to_thread(self._write_bundle, record, config, sandbox, image)
        user = d.LinuxContainerUser(
            uid=spec_inputs.user.uid,
            gid=spec_inputs.user.gid,
            supplemental_groups=spec_inputs.user.additional_gids,
        )
        return dataclasses.replace(record, user=user, mounts=resolved_mounts, prepared=True)

    async def _resolve_mount(self, record: ContainerRecord, mount: d.Mount, index: int) -> d.Mount:
        """A bind mount's host path resolved; an image volume mounted (read-only) and bound from there."""
        if mount.image is None:
            resolved = await asyncio.to_thread(mounts.resolve_host_path, mount.host_path)
            return dataclasses.replace(mount, host_path=resolved)
        image = await self.images.resolve(mount.image.image)
        directory = self.paths.image_volume_dir(record.id, index)
        host_path = await asyncio.to_thread(mounts.mount_image_volume, image.lower_dirs, directory=directory)
        return dataclasses.replace(mount, host_path=str(host_path), readonly=True)

    def _write_bundle(
        self, record: ContainerRecord, config: d.ContainerConfig, sandbox: SandboxRecord, image: RuntimeImage
    ) -> SpecInputs:
        """Blocking: the overlay rootfs, ``config.json`` and the log directory."""
        rootfs = mounts.mount_overlay(image.lower_dirs, directory=self.paths.container_root(record.id))
        spec_inputs = self._spec_inputs(record, config, sandbox, image, rootfs)
        bundle = self.paths.bundle(record.id)
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(build_spec(spec_inputs)))
        if record.log_path:
            Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
        return spec_inputs

    def begin_creation(self, record: ContainerRecord) -> None:
        """conmon + ``runc create`` in the background; StartContainer, Stop and Remove wait for it."""
        task = asyncio.create_task(self._create_under_conmon(record.id))
        self.creations[record.id] = task
        task.add_done_callback(lambda _: self.creations.pop(record.id, None))

    async def _create_under_conmon(self, container_id: str) -> None:
        try:
            created = await conmon.create(self.conmon, self.conmon_view(self.containers[container_id]))
        except Exception as exc:
            await self._creation_failed(container_id, exc)
            return
        record = dataclasses.replace(
            self.containers[container_id], pid=created.pid, conmon_pid=created.conmon_pid
        )
        self.commit(record)
        self.watch_exit(record)
        log.info("container %s: runc create done pid=%s", container_id, created.pid)

    async def resume_creation(self, record: ContainerRecord) -> None:
        """After a restart: adopt the container conmon finished creating, or create it again."""
        view = self.conmon_view(record)
        conmon_pid = await asyncio.to_thread(conmon.read_conmon_pid, view)
        if conmon_pid and await asyncio.to_thread(conmon.is_conmon_of, conmon_pid, record.id):
            pid = await self._created_pid(record.id)
            if pid:
                adopted = dataclasses.replace(record, pid=pid, conmon_pid=conmon_pid)
                self.commit(adopted)
                self.watch_exit(adopted)
                log.info("recovery: container %s adopted from its conmon pid=%s", record.id, pid)
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(conmon_pid, signal.SIGKILL)
            await asyncio.wait_for(wait_for_pid_exit(conmon_pid), KILL_WAIT_SECONDS)
        if await asyncio.to_thread((self.config.runc_root / record.id).exists):
            await self.runc.delete(record.id)
        self.begin_creation(record)

    async def _created_pid(self, container_id: str) -> int:
        """The init pid of a container runc reports as created (waiting for ``runc start``), else 0."""
        try:
            state = await self.runc.state(container_id)
        except (NotFound, Internal):
            return 0
        pid = state.get("pid", 0)
        return pid if state.get("status") == "created" and isinstance(pid, int) else 0

    async def _creation_failed(self, container_id: str, error: Exception) -> None:
        """As containerd reports a task that cannot be created: EXITED, code 128, reason StartError."""
        log.warning("container %s could not be created: %s", container_id, error)
        record = self.containers[container_id]
        self.commit(
            dataclasses.replace(
                record,
                finished_at=time.time_ns(),
                exit_code=CREATE_FAILED_EXIT_CODE,
                reason=CREATE_FAILED_REASON,
                message=str(error),
            )
        )
        self.publish(container_id, EVENT.CONTAINER_STOPPED_EVENT)
        await self.release_host(record)

    def _spec_inputs(
        self,
        record: ContainerRecord,
        config: d.ContainerConfig,
        sandbox: SandboxRecord,
        image: RuntimeImage,
        rootfs: Path,
    ) -> SpecInputs:
        """Blocking: everything the pure spec builder needs from the host."""
        security = config.linux.security_context if config.linux else None
        user = resolve_user(
            security,
            image_user=image.process.user,
            passwd_text=_read_text(rootfs / "etc/passwd"),
            group_text=_read_text(rootfs / "etc/group"),
        )
        profile_path = localhost_profile_path(
            security.seccomp if security else None, security.seccomp_profile_path if security else ""
        )
        localhost: dict[str, Any] | None = None
        if profile_path is not None:
            try:
                localhost = json.loads(Path(profile_path).read_text())
            except (OSError, ValueError) as exc:
                raise InvalidArgument(f"seccomp profile {profile_path!r} cannot be loaded: {exc}") from exc
        files = PodFilePaths.under(self.paths.sandbox_dir(sandbox.id))
        sysctls = sandbox.config.linux.sysctls if sandbox.config.linux else {}
        return SpecInputs(
            config=config,
            image=image.process,
            user=user,
            rootfs=str(rootfs),
            hostname="",
            namespaces=self._namespaces(sandbox, config),
            pod_files=PodFiles(
                resolv_conf=str(files.resolv_conf),
                hosts=str(files.hosts),
                hostname=str(files.hostname),
                shm=str(files.shm) if sandbox.ipc_ns else "/dev/shm",
            ),
            cgroups_path=record.cgroups_path,
            oom_score_adj_floor=self.oom_score_adj_floor,
            sysctls=sysctls,
            localhost_seccomp=localhost,
            bounding_capabilities=self.bounding_capabilities,
            host_devices={dev.host_path: _host_device(dev.host_path) for dev in config.devices},
        )

    def _namespaces(self, sandbox: SandboxRecord, config: d.ContainerConfig) -> PodNamespaces:
        security = config.linux.security_context if config.linux else None
        options = (
            security.namespace_options if security and security.namespace_options else d.NamespaceOption()
        )
        pid: str | None = None
        if options.pid == d.NamespaceMode.NODE:
            pid = HOST
        elif options.pid == d.NamespaceMode.POD and sandbox.infra is not None:
            pid = sandbox.infra.pid_namespace
        elif options.pid == d.NamespaceMode.TARGET:
            target = self.container(options.target_id)
            pid = f"/proc/{target.pid}/ns/pid"
        return PodNamespaces(
            network=sandbox.netns or HOST, ipc=sandbox.ipc_ns or HOST, uts=sandbox.uts_ns or HOST, pid=pid
        )

    async def start_container(self, container_id: str) -> None:
        record = self.container(container_id)
        await self.creation_settled(record.id)
        record = self.container(record.id)
        if record.reason == CREATE_FAILED_REASON and not record.started_at:
            raise Internal(f"container {record.id} could not be created: {record.message}")
        if record.state != STATES.CONTAINER_CREATED:
            raise FailedPrecondition(f"container {record.id} is {record.state.name}, not CREATED")
        started_at = time.time_ns()
        self.start_begins(record.id)
        try:
            await self.runc.start(record.id)
            self.commit(dataclasses.replace(self.containers[record.id], started_at=started_at))
            log.info("container started id=%s", record.id)
            self.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        finally:
            self.start_finished(record.id)

    async def stop_container(self, container_id: str, *, timeout: int) -> None:
        record = self.maybe_container(container_id)
        if record is None:
            return
        await self.creation_settled(record.id)
        record = self.maybe_container(record.id)
        if record is None or record.finished_at:
            return
        exited = self.exits.get(record.id)
        if timeout > 0:
            await self._signal(record, _stop_signal(record.config.stop_signal))
            if exited is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), timeout)
        if exited is None or not exited.done():
            await self._signal(record, "KILL")
            if exited is not None:
                await asyncio.wait_for(asyncio.shield(exited), KILL_WAIT_SECONDS)
        log.info("container stopped id=%s", record.id)

    async def _signal(self, record: ContainerRecord, signal: str) -> None:
        try:
            await self.runc.kill(record.id, signal, all_processes=True)
        except NotFound:
            return
        except Internal:
            # a concurrent stop may have killed it, and its exit removed runc's state under this kill
            if not self._ended(record.id):
                raise

    def _ended(self, container_id: str) -> bool:
        current, exited = self.containers.get(container_id), self.exits.get(container_id)
        return current is None or bool(current.finished_at) or (exited is not None and exited.done())

    async def remove_container(self, container_id: str) -> None:
        record = self.maybe_container(container_id)
        if record is None:
            return
        async with self.lifecycle_locks.setdefault(record.id, asyncio.Lock()):
            if record.id not in self.containers:  # removed while this call waited for the lock
                return
            await self.stop_container(record.id, timeout=0)
            await self._destroy(record)
            self.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
            self.store.delete(record)
            del self.containers[record.id]
            self.exits.pop(record.id, None)
            self.container_names.release(record.id)
        self.lifecycle_locks.pop(record.id, None)
        log.info("container removed id=%s", record.id)

    async def _destroy(self, record: ContainerRecord) -> None:
        """Delete the runc container, rootfs mount, files and cgroup (unless its exit already did)."""
        await self.exit_handled(record.id)
        await self.release_host(record)


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _stop_signal(signal: d.Signal) -> str:
    if signal == d.Signal.RUNTIME_DEFAULT:
        return "TERM"
    return signal.name.removeprefix("SIG")


def _host_device(host_path: str) -> dict[str, Any]:
    try:
        info = os.stat(host_path)
    except OSError as exc:
        raise InvalidArgument(f"device {host_path!r}: {exc.strerror}") from exc
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)):
        raise InvalidArgument(f"device {host_path!r} is not a character or block device")
    return {
        "type": "c" if stat.S_ISCHR(info.st_mode) else "b",
        "major": os.major(info.st_rdev),
        "minor": os.minor(info.st_rdev),
        "fileMode": stat.S_IMODE(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
    }
