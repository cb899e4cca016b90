"""CreateContainer, StartContainer, StopContainer, RemoveContainer over containerd containers and
tasks (``shims.containerd.lifecycle``), the OCI spec from ``shims.node``, and the exits containerd
reports."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import CRIError, FailedPrecondition, NotFound, Unimplemented
from cri.ids import new_id
from cri.table import RecordTable
from cri.views import exit_reason
from shims.containerd import lifecycle
from shims.containerd.client import Client, Mount
from shims.containerd.images import ContainerdImages, StoredImage
from shims.containerd.logcopy import ContainerLog
from shims.containerd.records import ContainerRecord, SandboxRecord, extension_of
from shims.containerd.snapshotfiles import read_image_file, upper_dir
from shims.containerd.stdio import FifoReader, Fifos, fifos_named
from shims.node import mounts
from shims.node.ocispec import ImageProcess, build_spec
from shims.node.podhost import PodPins
from shims.node.specinputs import PodContext, RuntimeLimits, spec_inputs, target_of

log = logging.getLogger("shims.containerd")
EVENT = d.ContainerEventType
STATES = d.ContainerState
START_FAILED_EXIT_CODE = 128
START_FAILED_REASON = "StartError"
OOM_KILLED = exit_reason(137, oom=True)

Table = RecordTable[SandboxRecord, ContainerRecord]
Spawn = Callable[[str, Coroutine[Any, Any, None]], None]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Output:
    log: ContainerLog
    fifos: Fifos


class ContainerManager:
    def __init__(
        self,
        table: Table,
        *,
        client: Client,
        images: ContainerdImages,
        limits: RuntimeLimits,
        state_dir: Path,
        spawn: Spawn,
    ) -> None:
        self.table = table
        self.client = client
        self.images = images
        self._limits = limits
        self._state_dir = state_dir
        self._spawn = spawn
        self.outputs: dict[str, Output] = {}
        self._starting: dict[str, asyncio.Event] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def fifo_dir(self) -> Path:
        return self._state_dir / "fifos"

    def sandbox_directory(self, sandbox_id: str) -> Path:
        return self._state_dir / "sandboxes" / sandbox_id

    # create
    async def create(self, sandbox: SandboxRecord, config: d.ContainerConfig) -> str:
        if not sandbox.ready:
            raise FailedPrecondition(f"pod sandbox {sandbox.id} is not ready")
        assert config.image is not None  # the servicer guarantees it
        image = await self.images.find(config.image.image)
        if image is None:
            raise NotFound(f"image {config.image.image!r} not found: pull it first")
        return await self.table.create_container(sandbox, config, lambda: self._make(sandbox, config, image))

    async def _make(self, sandbox: SandboxRecord, config: d.ContainerConfig, image: StoredImage) -> str:
        container_id = new_id()
        log_directory = sandbox.config.log_directory
        resolved = tuple([await _resolved_mount(mount) for mount in config.mounts])
        record = ContainerRecord(
            id=container_id,
            sandbox_id=sandbox.id,
            config=dataclasses.replace(config, mounts=resolved),
            image_ref=image.target.id,
            image_id=image.target.id,
            log_path=os.path.join(log_directory, config.log_path)
            if config.log_path and log_directory
            else "",
            cgroups_path=f"{sandbox.cgroup_parent}/tkctr-{container_id}",
            created_at=time.time_ns(),
            resources=config.linux.resources if config.linux else None,
            mounts=resolved,
        )
        target_pid = await self._target_pid(config)
        built: list[ContainerRecord] = []

        async def build(snapshot: Sequence[Mount]) -> dict[str, Any]:
            spec, user = await asyncio.to_thread(self._spec, record, sandbox, image, snapshot, target_pid)
            built.append(dataclasses.replace(record, user=user, upper_dir=str(upper_dir(snapshot))))
            return spec

        spec = lifecycle.ContainerSpec(
            container_id=container_id,
            image_id=image.names[0] if image.names else image.target.id,
            chain_id=image.target.chain_id,
            spec={},
            labels={"io.kubernetes.pod.uid": sandbox.metadata.uid, "io.tinykube.sandbox": sandbox.id},
        )
        await lifecycle.create(self.client, spec, build=build)
        record = built[0]
        try:
            await self._save_extension(record)
        except BaseException:
            await asyncio.shield(lifecycle.remove(self.client, record.id))
            raise
        self.table.commit(record)
        log.info("container created id=%s name=%s sandbox=%s", record.id, record.metadata.name, sandbox.id)
        self.table.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        return record.id

    async def _save_extension(self, record: ContainerRecord) -> None:
        held = await self.client.containers.get(record.id)
        await self.client.containers.update(
            dataclasses.replace(held, extensions={**held.extensions, **extension_of(record)}), "extensions"
        )

    async def _target_pid(self, config: d.ContainerConfig) -> int:
        target_id = target_of(config)
        if not target_id:
            return 0
        return self.table.container(target_id).pid

    def _spec(
        self,
        record: ContainerRecord,
        sandbox: SandboxRecord,
        image: StoredImage,
        snapshot: Sequence[Mount],
        target_pid: int,
    ) -> tuple[dict[str, Any], d.LinuxContainerUser]:
        """Blocking: the OCI spec and the user it runs as."""
        image_config = image.target.config
        inputs = spec_inputs(
            record.config,
            image=ImageProcess(
                entrypoint=image_config.entrypoint,
                cmd=image_config.cmd,
                env=image_config.env,
                user=image_config.user,
                working_dir=image_config.working_dir,
            ),
            rootfs=Path("rootfs"),
            pod=self.pod_context(sandbox),
            cgroups_path=record.cgroups_path,
            limits=self._limits,
            target_pid=target_pid,
            image_file=lambda inside: read_image_file(snapshot, inside),
        )
        user = d.LinuxContainerUser(
            uid=inputs.user.uid, gid=inputs.user.gid, supplemental_groups=inputs.user.additional_gids
        )
        return build_spec(inputs), user

    def pod_context(self, sandbox: SandboxRecord) -> PodContext:
        pid_namespace = (
            f"/proc/{sandbox.infra_pid}/ns/pid"
            if sandbox.infra_pid and sandbox.namespace_options.pid == d.NamespaceMode.POD
            else None
        )
        return PodContext(
            directory=self.sandbox_directory(sandbox.id),
            pins=PodPins(netns=sandbox.netns, ipc_ns=sandbox.ipc_ns, uts_ns=sandbox.uts_ns),
            infra_pid_namespace=pid_namespace,
            sysctls=sandbox.config.linux.sysctls if sandbox.config.linux else {},
        )

    # start, stop, remove
    async def start(self, container_id: str) -> None:
        record = self.table.container(container_id)
        if record.state != STATES.CONTAINER_CREATED:
            raise FailedPrecondition(f"container {record.id} is {record.state.name}, not CREATED")
        started_at = time.time_ns()
        self._starting[record.id] = asyncio.Event()
        try:
            started = await self._start_task(record)
            self.outputs[record.id] = Output(log=started.log, fifos=started.fifos)
            self._spawn(f"log copy of {record.id}", started.copy)
            self.table.commit(
                dataclasses.replace(self.table.containers[record.id], started_at=started_at, pid=started.pid)
            )
            log.info("container started id=%s pid=%s", record.id, started.pid)
            self.table.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        finally:
            self._starting.pop(record.id).set()

    async def _start_task(self, record: ContainerRecord) -> lifecycle.Started:
        """The task started; one that cannot start leaves the container EXITED with StartError, as
        containerd's CRI does."""
        try:
            return await lifecycle.start(
                self.client,
                record.id,
                fifo_dir=self.fifo_dir,
                log_path=Path(record.log_path) if record.log_path else None,
                tty=record.config.tty,
            )
        except CRIError as exc:
            now = time.time_ns()
            failed = dataclasses.replace(
                record,
                started_at=now,
                finished_at=now,
                exit_code=START_FAILED_EXIT_CODE,
                reason=START_FAILED_REASON,
                message=exc.message,
            )
            self.table.commit(failed)
            with contextlib.suppress(NotFound):
                await self.client.tasks.delete(record.id)
            self.table.publish(record.id, EVENT.CONTAINER_STOPPED_EVENT)
            raise

    async def stop(self, container_id: str, *, timeout: int) -> None:
        record = self.table.maybe_container(container_id)
        if record is None or record.state != STATES.CONTAINER_RUNNING:
            return
        await lifecycle.stop(
            self.client, record.id, stop_signal=_stop_signal(record.config.stop_signal), timeout=timeout
        )
        with contextlib.suppress(NotFound):
            state = await self.client.tasks.get(record.id)
            self.record_exit(record.id, state.exit_status, state.exited_at, oom=False)
        log.info("container stopped id=%s", record.id)

    async def remove(self, container_id: str) -> None:
        record = self.table.maybe_container(container_id)
        if record is None:
            return
        async with self._locks.setdefault(record.id, asyncio.Lock()):
            if self.table.get_container(record.id) is None:
                return
            await self.stop(record.id, timeout=0)
            self.outputs.pop(record.id, None)
            await lifecycle.remove(self.client, record.id, fifos=self._fifos(record))
            self.table.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
            self.table.forget(record)
        self._locks.pop(record.id, None)
        log.info("container removed id=%s", record.id)

    def _fifos(self, record: ContainerRecord) -> Fifos:
        return fifos_named(self.fifo_dir, record.id, stdin=False, terminal=record.config.tty)

    def resume_output(self, record: ContainerRecord) -> None:
        """After a restart: copy on from the running container's FIFOs; what the pipes buffered while
        the shim was down comes first."""
        fifos = self._fifos(record)
        try:
            readers = {"stdout": FifoReader(fifos.stdout)}
            if fifos.stderr is not None:
                readers["stderr"] = FifoReader(fifos.stderr)
        except OSError as exc:
            log.warning("recovery: the output of container %s is lost: %s", record.id, exc)
            return
        container_log = ContainerLog(Path(record.log_path) if record.log_path else None)
        self.outputs[record.id] = Output(log=container_log, fifos=fifos)
        self._spawn(f"log copy of {record.id}", container_log.copy(readers))

    # exits
    async def exited(self, container_id: str, code: int, exited_at: datetime | None, *, oom: bool) -> None:
        """A TaskExit of the container's init process (after its start is recorded)."""
        starting = self._starting.get(container_id)
        if starting is not None:
            await starting.wait()
        self.record_exit(container_id, code, exited_at, oom=oom)

    def oom_killed(self, container_id: str) -> None:
        """A TaskOOM after the exit it caused was recorded: the reason becomes OOMKilled, as
        containerd's CRI does."""
        record = self.table.get_container(container_id)
        if record is not None and record.finished_at and record.reason != OOM_KILLED:
            self.table.commit(dataclasses.replace(record, reason=OOM_KILLED))

    def record_exit(self, container_id: str, code: int, exited_at: datetime | None, *, oom: bool) -> None:
        record = self.table.get_container(container_id)
        if record is None or record.finished_at or not record.started_at:
            return
        finished = int(exited_at.timestamp() * 1e9) if exited_at else time.time_ns()
        updated = dataclasses.replace(
            record,
            finished_at=max(finished, record.started_at),
            exit_code=code,
            reason=exit_reason(code, oom=oom),
        )
        self.table.commit(updated)
        log.info("container exited id=%s exit_code=%s reason=%s", record.id, code, updated.reason)
        self.table.publish(record.id, EVENT.CONTAINER_STOPPED_EVENT)


async def _resolved_mount(mount: d.Mount) -> d.Mount:
    if mount.image is not None:
        raise Unimplemented("image volumes are not supported by the containerd shim yet")
    resolved = await asyncio.to_thread(mounts.resolve_host_path, mount.host_path)
    return dataclasses.replace(mount, host_path=resolved)


def _stop_signal(stop_signal: d.Signal) -> int:
    if stop_signal == d.Signal.RUNTIME_DEFAULT:
        return signal.SIGTERM
    return int(signal.Signals[stop_signal.name])
