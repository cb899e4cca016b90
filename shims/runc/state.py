"""The runc runtime's shared in-memory state: records, names, events, paths and exit watchers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d
from cri.errors import Internal, NotFound
from cri.events import EventHub
from cri.ids import NameRegistry, resolve_prefix
from cri.streaming.server import StreamingServer
from cri.views import container_event, exit_reason
from shims.node import cgroups, conmon, mounts
from shims.node.conmon import ConmonContainer, ConmonSettings
from shims.node.ocispec import parse_bounding_set
from shims.node.pidwait import wait_for_pid_exit
from shims.node.runc import Runc
from shims.runc.config import RuncShimConfig
from shims.runc.images import ImageSource
from shims.runc.records import ContainerRecord, SandboxRecord
from shims.runc.store import RecordStore

log = logging.getLogger("shims.runc")
EXIT_HANDLING_TIMEOUT = 30.0
CREATION_TIMEOUT = 2 * conmon.CREATE_TIMEOUT_SECONDS + 10.0
SHUTDOWN_CREATION_TIMEOUT = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Paths:
    root: Path
    state: Path

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.state / "sandboxes" / sandbox_id

    def bundle(self, container_id: str) -> Path:
        return self.state / "containers" / container_id

    def container_root(self, container_id: str) -> Path:
        return self.root / "containers" / container_id

    def image_volume_dir(self, container_id: str, mount_index: int) -> Path:
        return self.container_root(container_id) / "image-volumes" / str(mount_index)

    def image_volume_dirs(self, container_id: str) -> list[Path]:
        """Blocking: the image volume directories a container has."""
        with contextlib.suppress(FileNotFoundError):
            return list((self.container_root(container_id) / "image-volumes").iterdir())
        return []

    @property
    def exit_dir(self) -> Path:
        return self.state / "exits"

    @property
    def socket_dir(self) -> Path:
        return self.state / "sockets"


class RuncState:
    def __init__(self, config: RuncShimConfig, images: ImageSource) -> None:
        self.config = config
        self.images = images
        self.paths = Paths(root=config.root_dir, state=config.state_dir)
        self.store = RecordStore(config.state_dir)
        self.runc = Runc(binary=config.runc, root=config.runc_root)
        self.conmon = ConmonSettings(conmon=config.conmon, runc=config.runc, runc_root=config.runc_root)
        self.sandboxes: dict[str, SandboxRecord] = {}
        self.containers: dict[str, ContainerRecord] = {}
        self.sandbox_names = NameRegistry("pod sandbox")
        self.container_names = NameRegistry("container")
        self.events = EventHub()
        self.exits: dict[str, asyncio.Future[int]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self.creations: dict[str, asyncio.Task[None]] = {}
        """conmon + ``runc create`` still running after CreateContainer replied."""
        self.pod_cidr = ""
        self.streaming_server: StreamingServer | None = None
        self.infra_launchers: dict[str, asyncio.subprocess.Process] = {}
        self.lifecycle_locks: dict[str, asyncio.Lock] = {}
        """Per sandbox or container id: one Stop/RemovePodSandbox or RemoveContainer at a time (the kubelet's
        pod worker and garbage collectors race)."""
        self.starting: dict[str, asyncio.Event] = {}
        """Containers inside StartContainer: their exit is recorded once the start is."""
        self.oom_score_adj_floor = int(Path("/proc/self/oom_score_adj").read_text().strip())
        self.bounding_capabilities = parse_bounding_set(Path("/proc/self/status").read_text())

    # lookups
    def sandbox(self, prefix: str) -> SandboxRecord:
        return self.sandboxes[resolve_prefix(prefix, self.sandboxes, kind="pod sandbox")]

    def container(self, prefix: str) -> ContainerRecord:
        return self.containers[resolve_prefix(prefix, self.containers, kind="container")]

    def maybe_sandbox(self, prefix: str) -> SandboxRecord | None:
        with contextlib.suppress(NotFound):
            return self.sandbox(prefix)
        return None

    def maybe_container(self, prefix: str) -> ContainerRecord | None:
        with contextlib.suppress(NotFound):
            return self.container(prefix)
        return None

    def commit(self, record: SandboxRecord | ContainerRecord) -> None:
        self.store.save(record)
        if isinstance(record, SandboxRecord):
            self.sandboxes[record.id] = record
        else:
            self.containers[record.id] = record

    def publish(self, object_id: str, kind: d.ContainerEventType) -> None:
        container = self.containers.get(object_id)
        sandbox_id = container.sandbox_id if container else object_id
        sandbox = self.sandboxes.get(sandbox_id)
        self.events.publish(
            container_event(
                object_id, kind, sandbox_id=sandbox_id, sandbox=sandbox, containers=self.containers.values()
            )
        )

    def conmon_view(self, record: ContainerRecord) -> ConmonContainer:
        config = record.config
        return ConmonContainer(
            id=record.id,
            name=record.metadata.name,
            bundle=self.paths.bundle(record.id),
            log_path=record.log_path,
            exit_dir=self.paths.exit_dir,
            socket_dir=self.paths.socket_dir,
            tty=config.tty,
            stdin=config.stdin,
            stdin_once=config.stdin_once,
        )

    # creations
    async def creation_settled(self, container_id: str) -> None:
        """Wait (bounded) until a pending conmon + ``runc create`` of ``container_id`` has ended."""
        task = self.creations.get(container_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), CREATION_TIMEOUT)

    # exits
    def watch_exit(self, record: ContainerRecord) -> None:
        """Follow the container's conmon; when it ends, record the exit conmon wrote."""
        if record.id in self._watchers:
            return
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.exits[record.id] = future
        self._watchers[record.id] = asyncio.create_task(self._follow(record.id, record.conmon_pid, future))

    async def _follow(self, container_id: str, conmon_pid: int, future: asyncio.Future[int]) -> None:
        try:
            await wait_for_pid_exit(conmon_pid)
            start = self.starting.get(container_id)
            if start is not None:
                await start.wait()  # runc start is bounded by its timeout
            self.record_exit(container_id)
            # As containerd deletes the task on exit: RemoveContainer then only forgets the record.
            record = self.containers.get(container_id)
            if record is not None:
                await self.release_host(record)
        finally:
            self._watchers.pop(container_id, None)
            _resolve_exit(future, self.containers.get(container_id))

    async def release_host(self, record: ContainerRecord) -> None:
        """Free all a container holds on the host besides its record (at exit, so Remove has little left).

        runc's state and the cgroup, concurrently with the rootfs mount, writable layer, bundle, attach
        socket link and exit file: once the exit is recorded, nothing reads them again.
        """
        await asyncio.gather(self._delete_runc_state(record), asyncio.to_thread(self._remove_files, record))
        await self.images.layers_released()

    async def _delete_runc_state(self, record: ContainerRecord) -> None:
        if await asyncio.to_thread((self.config.runc_root / record.id).exists):
            with contextlib.suppress(Internal):
                await self.runc.delete(record.id)
        await asyncio.to_thread(cgroups.remove, record.cgroups_path)

    def _remove_files(self, record: ContainerRecord) -> None:
        """Blocking: the container's files and mount; what is already gone is fine."""
        root = self.paths.container_root(record.id)
        mounts.unmount_overlay(root / "rootfs")
        for volume in self.paths.image_volume_dirs(record.id):
            mounts.unmount_overlay(volume / "mnt")
        for directory in (root, self.paths.bundle(record.id)):
            shutil.rmtree(directory, ignore_errors=True)
        # conmon's socket "directory" is a symlink to the bundle.
        for path in (self.paths.socket_dir / record.id, self.paths.exit_dir / record.id):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def start_begins(self, container_id: str) -> None:
        self.starting[container_id] = asyncio.Event()

    def start_finished(self, container_id: str) -> None:
        start = self.starting.pop(container_id, None)
        if start is not None:
            start.set()

    async def exit_handled(self, container_id: str) -> None:
        """Wait (bounded) until the exit watcher of ``container_id`` has finished its work."""
        task = self._watchers.get(container_id)
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), EXIT_HANDLING_TIMEOUT)

    def record_exit(self, container_id: str) -> None:
        record = self.containers.get(container_id)
        if record is None or record.finished_at:
            return
        view = self.conmon_view(record)
        code = conmon.read_exit_code(view)
        if code is None:
            code, finished, message = -1, time.time_ns(), "conmon ended without recording an exit code"
        else:
            finished, message = conmon.exit_time_ns(view), ""
        oom = conmon.oom_killed(view)
        updated = _exited(record, code=code, finished_at=finished, oom=oom, message=message)
        self.commit(updated)
        log.info("container exited id=%s exit_code=%s reason=%s", record.id, code, updated.reason)
        self.publish(record.id, d.ContainerEventType.CONTAINER_STOPPED_EVENT)

    def watch_infra(self, record: SandboxRecord) -> None:
        """A pod whose infra process dies is NOTREADY."""
        if record.infra is None or f"infra:{record.id}" in self._watchers:
            return
        key = f"infra:{record.id}"
        self._watchers[key] = asyncio.create_task(self._follow_infra(key, record.id, record.infra_pid))

    async def _follow_infra(self, key: str, sandbox_id: str, pid: int) -> None:
        try:
            await wait_for_pid_exit(pid)
            record = self.sandboxes.get(sandbox_id)
            if record is not None and record.ready:
                self.commit(dataclasses.replace(record, ready=False))
                log.info("pod sandbox infra process ended id=%s", sandbox_id)
                self.publish(sandbox_id, d.ContainerEventType.CONTAINER_STOPPED_EVENT)
        finally:
            self._watchers.pop(key, None)

    async def close(self) -> None:
        creations = list(self.creations.values())
        if creations:
            # Let pending creations finish so their records are complete; recovery resumes any that cannot.
            await asyncio.wait(creations, timeout=SHUTDOWN_CREATION_TIMEOUT)
            for task in creations:
                task.cancel()
            await asyncio.gather(*creations, return_exceptions=True)
        for task in list(self._watchers.values()):
            task.cancel()
        for task in list(self._watchers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _resolve_exit(future: asyncio.Future[int], record: ContainerRecord | None) -> None:
    if not future.done():
        future.set_result(record.exit_code if record else -1)


def _exited(
    record: ContainerRecord, *, code: int, finished_at: int, oom: bool, message: str
) -> ContainerRecord:
    return dataclasses.replace(
        record,
        finished_at=max(finished_at, record.started_at or record.created_at),
        exit_code=code,
        reason=exit_reason(code, oom=oom),
        message=message,
    )
