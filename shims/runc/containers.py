"""CreateContainer, StartContainer, StopContainer, RemoveContainer over conmon + runc."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import FailedPrecondition, InvalidArgument, NotFound
from cri.ids import container_name, new_id
from shims.node import cgroups, conmon, mounts, namespaces
from shims.node.identity import resolve_user
from shims.node.ocispec import HOST, PodFiles, PodNamespaces, SpecInputs, build_spec
from shims.node.seccomp import localhost_profile_path
from shims.runc.images import RuntimeImage
from shims.runc.podfiles import PodFilePaths
from shims.runc.records import ContainerRecord, SandboxRecord
from shims.runc.state import RuncState, log

EVENT = d.ContainerEventType
STATES = d.ContainerState
KILL_WAIT_SECONDS = 10.0


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
        log_path = os.path.join(sandbox.config.log_directory, config.log_path) if config.log_path else ""
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
            record = await self._build_and_create(record, sandbox, image)
        except BaseException:
            await asyncio.shield(self._destroy(record))
            self.store.delete(record)
            self.containers.pop(record.id, None)
            raise
        self.commit(record)
        self.watch_exit(record)
        log.info("container created id=%s name=%s sandbox=%s", record.id, record.metadata.name, sandbox.id)
        self.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        return record.id

    async def _build_and_create(
        self, record: ContainerRecord, sandbox: SandboxRecord, image: RuntimeImage
    ) -> ContainerRecord:
        config = record.config
        resolved_mounts = tuple(
            dataclasses.replace(m, host_path=mounts.resolve_host_path(m.host_path)) for m in config.mounts
        )
        config = dataclasses.replace(config, mounts=resolved_mounts)
        rootfs = await asyncio.to_thread(
            mounts.mount_overlay, image.lower_dirs, directory=self.paths.container_root(record.id)
        )
        spec_inputs = await asyncio.to_thread(self._spec_inputs, record, config, sandbox, image, rootfs)
        bundle = self.paths.bundle(record.id)
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(build_spec(spec_inputs)))
        if record.log_path:
            Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
        created = await conmon.create(self.conmon, self.conmon_view(record))
        user = d.LinuxContainerUser(
            uid=spec_inputs.user.uid,
            gid=spec_inputs.user.gid,
            supplemental_groups=spec_inputs.user.additional_gids,
        )
        return dataclasses.replace(
            record, pid=created.pid, conmon_pid=created.conmon_pid, user=user, mounts=resolved_mounts
        )

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
        if record.state != STATES.CONTAINER_CREATED:
            raise FailedPrecondition(f"container {record.id} is {record.state.name}, not CREATED")
        started_at = time.time_ns()
        self.starting.add(record.id)
        try:
            await self.runc.start(record.id)
            self.commit(dataclasses.replace(self.containers[record.id], started_at=started_at))
            log.info("container started id=%s", record.id)
            self.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        finally:
            self.start_finished(record.id)

    async def stop_container(self, container_id: str, *, timeout: int) -> None:
        record = self.maybe_container(container_id)
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
        with contextlib.suppress(NotFound):
            await self.runc.kill(record.id, signal, all_processes=True)

    async def remove_container(self, container_id: str) -> None:
        record = self.maybe_container(container_id)
        if record is None:
            return
        await self.stop_container(record.id, timeout=0)
        await self._destroy(record)
        self.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
        self.store.delete(record)
        del self.containers[record.id]
        self.exits.pop(record.id, None)
        self.container_names.release(record.id)
        log.info("container removed id=%s", record.id)

    async def _destroy(self, record: ContainerRecord) -> None:
        """Delete the runc container (unless its exit did), rootfs mount, bundle, exit file and cgroup."""
        await self.exit_handled(record.id)
        if await asyncio.to_thread((self.config.runc_root / record.id).exists):
            await self.runc.delete(record.id)
        root = self.paths.container_root(record.id)
        await asyncio.to_thread(namespaces.unmount, root / "rootfs")
        for directory in (root, self.paths.bundle(record.id)):
            await asyncio.to_thread(shutil.rmtree, directory, True)
        # conmon's socket "directory" is a symlink to the bundle.
        for path in (self.paths.socket_dir / record.id, self.paths.exit_dir / record.id):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        await asyncio.to_thread(cgroups.remove, record.cgroups_path)


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
