"""CreateContainer, StartContainer, StopContainer, RemoveContainer over conmon + runc, and exits."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import time

from cri import domain as d
from cri.errors import FailedPrecondition, Internal, NotFound
from cri.ids import new_id
from cri.table import RecordTable
from cri.views import exit_reason
from shims.node import conmon
from shims.node.pidwait import PidWatchers, wait_for_pid_exit
from shims.node.podhost import PodPins
from shims.node.specinputs import PodContext, target_of
from shims.runc.containerhost import ContainerHost
from shims.runc.images import RuntimeImage
from shims.runc.records import ContainerRecord, SandboxRecord

log = logging.getLogger("shims.runc")
EVENT = d.ContainerEventType
STATES = d.ContainerState
KILL_WAIT_SECONDS = 10.0
EXIT_HANDLING_TIMEOUT = 30.0
CREATION_TIMEOUT = 2 * conmon.CREATE_TIMEOUT_SECONDS + 10.0
SHUTDOWN_CREATION_TIMEOUT = 10.0
CREATE_FAILED_EXIT_CODE = 128
CREATE_FAILED_REASON = "StartError"

Table = RecordTable[SandboxRecord, ContainerRecord]


class ContainerManager:
    def __init__(self, table: Table, host: ContainerHost) -> None:
        self.table = table
        self.host = host
        self._watchers = PidWatchers()
        self._exits: dict[str, asyncio.Future[int]] = {}
        self._starting: dict[str, asyncio.Event] = {}
        """Containers inside StartContainer: their exit is recorded once the start is."""
        self._creations: dict[str, asyncio.Task[None]] = {}
        """conmon + ``runc create`` still running after CreateContainer replied."""
        self._locks: dict[str, asyncio.Lock] = {}
        """One RemoveContainer at a time per container (the kubelet's pod worker and GC race)."""

    # create
    async def create(self, sandbox: SandboxRecord, config: d.ContainerConfig) -> str:
        if not sandbox.ready:
            raise FailedPrecondition(f"pod sandbox {sandbox.id} is not ready")
        assert config.image is not None  # the servicer guarantees it
        image = await self.host.images.resolve(config.image.image)
        return await self.table.create_container(sandbox, config, lambda: self._make(sandbox, config, image))

    async def _make(self, sandbox: SandboxRecord, config: d.ContainerConfig, image: RuntimeImage) -> str:
        container_id = new_id()
        log_directory = sandbox.config.log_directory
        record = ContainerRecord(
            id=container_id,
            sandbox_id=sandbox.id,
            config=config,
            image_ref=image.id,
            image_id=image.id,
            log_path=os.path.join(log_directory, config.log_path)
            if config.log_path and log_directory
            else "",
            cgroups_path=f"{sandbox.cgroup_parent}/tkrunc-{container_id}",
            created_at=time.time_ns(),
            resources=config.linux.resources if config.linux else None,
        )
        self.table.commit(record, durable=False)
        try:
            record = await self._prepare(record, sandbox, image)
            self.table.commit(record)
        except BaseException:
            await asyncio.shield(self.discard(record))
            raise
        self._begin_creation(record)
        log.info("container created id=%s name=%s sandbox=%s", record.id, record.metadata.name, sandbox.id)
        self.table.publish(record.id, EVENT.CONTAINER_CREATED_EVENT)
        return record.id

    async def _prepare(
        self, record: ContainerRecord, sandbox: SandboxRecord, image: RuntimeImage
    ) -> ContainerRecord:
        target_pid = 0
        if target_id := target_of(record.config):
            target = self.table.container(target_id)
            await self.creation_settled(target.id)
            target_pid = self.table.container(target.id).pid
        prepared = await self.host.prepare(
            record, pod_context(sandbox, self.host), image, target_pid=target_pid
        )
        return dataclasses.replace(record, user=prepared.user, mounts=prepared.mounts, prepared=True)

    def _begin_creation(self, record: ContainerRecord) -> None:
        """conmon + ``runc create`` in the background; StartContainer, Stop and Remove wait for it."""
        task = asyncio.create_task(self._create_under_conmon(record.id))
        self._creations[record.id] = task
        task.add_done_callback(lambda _: self._creations.pop(record.id, None))

    async def _create_under_conmon(self, container_id: str) -> None:
        record = self.table.containers[container_id]
        try:
            created = await conmon.create(self.host.conmon, self.host.conmon_view(record))
        except Exception as exc:
            await self._creation_failed(container_id, exc)
            return
        record = dataclasses.replace(
            self.table.containers[container_id], pid=created.pid, conmon_pid=created.conmon_pid
        )
        self.table.commit(record, durable=False)  # StartContainer's commit makes it durable
        self.watch_exit(record)
        log.info("container %s: runc create done pid=%s", container_id, created.pid)

    async def _creation_failed(self, container_id: str, error: Exception) -> None:
        """As containerd reports a task that cannot be created: EXITED, code 128, reason StartError."""
        log.warning("container %s could not be created: %s", container_id, error)
        record = self.table.containers[container_id]
        failed = dataclasses.replace(
            record,
            finished_at=time.time_ns(),
            exit_code=CREATE_FAILED_EXIT_CODE,
            reason=CREATE_FAILED_REASON,
            message=str(error),
        )
        self.table.commit(failed, durable=False)  # an exit: the host's state says it as well
        self.table.publish(container_id, EVENT.CONTAINER_STOPPED_EVENT)
        await self.host.release(record)

    async def resume_creation(self, record: ContainerRecord) -> None:
        """After a restart: adopt the container conmon finished creating, or create it again."""
        view = self.host.conmon_view(record)
        conmon_pid = await asyncio.to_thread(conmon.read_conmon_pid, view)
        if conmon_pid and await asyncio.to_thread(conmon.is_conmon_of, conmon_pid, record.id):
            pid = await self._created_pid(record.id)
            if pid:
                adopted = dataclasses.replace(record, pid=pid, conmon_pid=conmon_pid)
                self.table.commit(adopted, durable=False)
                self.watch_exit(adopted)
                log.info("recovery: container %s adopted from its conmon pid=%s", record.id, pid)
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(conmon_pid, signal.SIGKILL)
            await asyncio.wait_for(wait_for_pid_exit(conmon_pid), KILL_WAIT_SECONDS)
        if await self.host.runc_state_exists(record.id):
            await self.host.runc.delete(record.id)
        self._begin_creation(record)

    async def _created_pid(self, container_id: str) -> int:
        """The init pid of a container runc reports as created (waiting for ``runc start``), else 0."""
        try:
            state = await self.host.runc.state(container_id)
        except (NotFound, Internal):
            return 0
        pid = state.get("pid", 0)
        return pid if state.get("status") == "created" and isinstance(pid, int) else 0

    async def creation_settled(self, container_id: str) -> None:
        """Wait (bounded) until a pending conmon + ``runc create`` of ``container_id`` has ended."""
        task = self._creations.get(container_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), CREATION_TIMEOUT)

    # start, stop, remove
    async def start(self, container_id: str) -> None:
        record = self.table.container(container_id)
        await self.creation_settled(record.id)
        record = self.table.container(record.id)
        if record.reason == CREATE_FAILED_REASON and not record.started_at:
            raise Internal(f"container {record.id} could not be created: {record.message}")
        if record.state != STATES.CONTAINER_CREATED:
            raise FailedPrecondition(f"container {record.id} is {record.state.name}, not CREATED")
        started_at = time.time_ns()
        self._starting[record.id] = asyncio.Event()
        try:
            await self.host.runc.start(record.id)
            self.table.commit(dataclasses.replace(self.table.containers[record.id], started_at=started_at))
            log.info("container started id=%s", record.id)
            self.table.publish(record.id, EVENT.CONTAINER_STARTED_EVENT)
        finally:
            self._starting.pop(record.id).set()

    async def stop(self, container_id: str, *, timeout: int) -> None:
        record = self.table.maybe_container(container_id)
        if record is None:
            return
        await self.creation_settled(record.id)
        record = self.table.get_container(record.id)
        if record is None or record.finished_at:
            return
        exited = self._exits.get(record.id)
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

    async def _signal(self, record: ContainerRecord, signal_name: str) -> None:
        try:
            await self.host.runc.kill(record.id, signal_name, all_processes=True)
        except NotFound:
            return
        except Internal:
            # a concurrent stop may have killed it, and its exit removed runc's state under this kill
            if not self._ended(record.id):
                raise

    def _ended(self, container_id: str) -> bool:
        current, exited = self.table.get_container(container_id), self._exits.get(container_id)
        return current is None or bool(current.finished_at) or (exited is not None and exited.done())

    async def remove(self, container_id: str) -> None:
        record = self.table.maybe_container(container_id)
        if record is None:
            return
        async with self._locks.setdefault(record.id, asyncio.Lock()):
            if self.table.get_container(record.id) is None:  # removed while this call waited for the lock
                return
            await self.stop(record.id, timeout=0)
            await self.discard(record, publish=True)
        self._locks.pop(record.id, None)
        log.info("container removed id=%s", record.id)

    async def discard(self, record: ContainerRecord, *, publish: bool = False) -> None:
        """Delete the runc container, rootfs mount, files and cgroup (unless its exit already did), then
        the record."""
        await self._watchers.settled(record.id, EXIT_HANDLING_TIMEOUT)
        await self.host.release(record)
        if publish:
            self.table.publish(record.id, EVENT.CONTAINER_DELETED_EVENT)
        self.table.forget(record)
        self._exits.pop(record.id, None)

    # exits
    def exited(self, container_id: str) -> asyncio.Future[int] | None:
        """Resolves to the container's exit code once its conmon has ended (while it is watched)."""
        return self._exits.get(container_id)

    def watch_exit(self, record: ContainerRecord) -> None:
        """Follow the container's conmon; when it ends, record the exit conmon wrote."""
        if record.id in self._watchers:
            return
        self._exits[record.id] = asyncio.get_running_loop().create_future()
        self._watchers.follow(record.id, record.conmon_pid, lambda: self._conmon_ended(record.id))

    async def _conmon_ended(self, container_id: str) -> None:
        try:
            start = self._starting.get(container_id)
            if start is not None:
                await start.wait()  # runc start is bounded by its timeout
            self.record_exit(container_id)
            # As containerd deletes the task on exit: RemoveContainer then only forgets the record.
            record = self.table.get_container(container_id)
            if record is not None:
                await self.host.release(record)
        finally:
            future = self._exits.get(container_id)
            if future is not None and not future.done():
                record = self.table.get_container(container_id)
                future.set_result(record.exit_code if record else -1)

    def record_exit(self, container_id: str) -> None:
        record = self.table.get_container(container_id)
        if record is None or record.finished_at:
            return
        view = self.host.conmon_view(record)
        code = conmon.read_exit_code(view)
        if code is None:
            code, finished, message = -1, time.time_ns(), "conmon ended without recording an exit code"
        else:
            finished, message = conmon.exit_time_ns(view), ""
        updated = dataclasses.replace(
            record,
            finished_at=max(finished, record.started_at or record.created_at),
            exit_code=code,
            reason=exit_reason(code, oom=conmon.oom_killed(view)),
            message=message,
        )
        self.table.commit(updated, durable=False)  # conmon's exit file keeps the exit as well
        log.info("container exited id=%s exit_code=%s reason=%s", record.id, code, updated.reason)
        self.table.publish(record.id, EVENT.CONTAINER_STOPPED_EVENT)

    async def close(self) -> None:
        creations = list(self._creations.values())
        if creations:
            # Let pending creations finish so their records are complete; recovery resumes any that cannot.
            await asyncio.wait(creations, timeout=SHUTDOWN_CREATION_TIMEOUT)
            for task in creations:
                task.cancel()
            await asyncio.gather(*creations, return_exceptions=True)
        await self._watchers.close()


def pod_context(sandbox: SandboxRecord, host: ContainerHost) -> PodContext:
    infra = sandbox.infra
    return PodContext(
        directory=host.paths.sandbox_dir(sandbox.id),
        pins=PodPins(netns=sandbox.netns, ipc_ns=sandbox.ipc_ns, uts_ns=sandbox.uts_ns),
        infra_pid_namespace=infra.pid_namespace if infra is not None else None,
        sysctls=sandbox.config.linux.sysctls if sandbox.config.linux else {},
    )


def _stop_signal(stop_signal: d.Signal) -> str:
    if stop_signal == d.Signal.RUNTIME_DEFAULT:
        return "TERM"
    return stop_signal.name.removeprefix("SIG")
