"""containerd's tasks: the running processes of containers (init and exec'd ones)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.empty_pb2 import Empty

from shims.containerd._gen.services.tasks.v1 import tasks_pb2 as pb
from shims.containerd._gen.types.task import task_pb2
from shims.containerd.client.connection import Connection, method_path
from shims.containerd.client.types import Mount, mount_to_proto, time_from_proto

PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
RESOURCES_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"


@dataclass(frozen=True, kw_only=True, slots=True)
class Stdio:
    """Paths of the FIFOs a task's process reads and writes ("" for none)."""

    stdin: str = ""
    stdout: str = ""
    stderr: str = ""
    terminal: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessState:
    container_id: str
    exec_id: str
    pid: int
    status: str
    """``created``, ``running``, ``stopped``, ``paused``, ``pausing`` or ``unknown``."""
    exit_status: int = 0
    exited_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Exit:
    exit_status: int
    exited_at: datetime | None


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Tasks", method)


def _state(process: task_pb2.Process, container_id: str = "") -> ProcessState:
    """containerd names an init process by its container's ID and may leave ``container_id`` empty."""
    container_id = container_id or process.container_id or process.id
    return ProcessState(
        container_id=container_id,
        exec_id=process.id if process.id != container_id else "",
        pid=process.pid,
        status=task_pb2.Status.Name(process.status).lower(),
        exit_status=process.exit_status,
        exited_at=time_from_proto(process.exited_at),
    )


class Tasks:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def create(self, container_id: str, stdio: Stdio, *, rootfs: Sequence[Mount] = ()) -> int:
        """Create the init process (not started); its pid."""
        request = pb.CreateTaskRequest(
            container_id=container_id,
            rootfs=[mount_to_proto(mount) for mount in rootfs],
            stdin=stdio.stdin,
            stdout=stdio.stdout,
            stderr=stdio.stderr,
            terminal=stdio.terminal,
        )
        reply = await self._connection.unary(_path("Create"), request, pb.CreateTaskResponse)
        return reply.pid

    async def start(self, container_id: str, exec_id: str = "") -> int:
        request = pb.StartRequest(container_id=container_id, exec_id=exec_id)
        reply = await self._connection.unary(_path("Start"), request, pb.StartResponse)
        return reply.pid

    async def exec(self, container_id: str, exec_id: str, process: Mapping[str, Any], stdio: Stdio) -> None:
        """Add the process ``process`` (an OCI ``process`` object) as ``exec_id``; start it with ``start``."""
        request = pb.ExecProcessRequest(
            container_id=container_id,
            exec_id=exec_id,
            spec=AnyMessage(type_url=PROCESS_TYPE_URL, value=json.dumps(process).encode()),
            stdin=stdio.stdin,
            stdout=stdio.stdout,
            stderr=stdio.stderr,
            terminal=stdio.terminal,
        )
        await self._connection.unary(_path("Exec"), request, Empty)

    async def wait(self, container_id: str, exec_id: str = "") -> Exit:
        """Wait (no deadline) until the process exits; send it before ``start``, as containerd wants."""
        request = pb.WaitRequest(container_id=container_id, exec_id=exec_id)
        reply = await self._connection.unary(_path("Wait"), request, pb.WaitResponse, patient=True)
        return Exit(exit_status=reply.exit_status, exited_at=time_from_proto(reply.exited_at))

    async def kill(
        self, container_id: str, signal: int, *, exec_id: str = "", every_process: bool = False
    ) -> None:
        request = pb.KillRequest(container_id=container_id, exec_id=exec_id, signal=signal, all=every_process)
        await self._connection.unary(_path("Kill"), request, Empty)

    async def get(self, container_id: str, exec_id: str = "") -> ProcessState:
        request = pb.GetRequest(container_id=container_id, exec_id=exec_id)
        reply = await self._connection.unary(_path("Get"), request, pb.GetResponse)
        return _state(reply.process, container_id)

    async def list(self) -> builtins.list[ProcessState]:
        reply = await self._connection.unary(_path("List"), pb.ListTasksRequest(), pb.ListTasksResponse)
        return [_state(process) for process in reply.tasks]

    async def delete(self, container_id: str) -> Exit:
        """Delete a stopped task (its init process); its exit."""
        request = pb.DeleteTaskRequest(container_id=container_id)
        reply = await self._connection.unary(_path("Delete"), request, pb.DeleteResponse)
        return Exit(exit_status=reply.exit_status, exited_at=time_from_proto(reply.exited_at))

    async def delete_process(self, container_id: str, exec_id: str) -> Exit:
        request = pb.DeleteProcessRequest(container_id=container_id, exec_id=exec_id)
        reply = await self._connection.unary(_path("DeleteProcess"), request, pb.DeleteResponse)
        return Exit(exit_status=reply.exit_status, exited_at=time_from_proto(reply.exited_at))

    async def resize_pty(self, container_id: str, exec_id: str, *, width: int, height: int) -> None:
        request = pb.ResizePtyRequest(container_id=container_id, exec_id=exec_id, width=width, height=height)
        await self._connection.unary(_path("ResizePty"), request, Empty)

    async def close_stdin(self, container_id: str, exec_id: str = "") -> None:
        request = pb.CloseIORequest(container_id=container_id, exec_id=exec_id, stdin=True)
        await self._connection.unary(_path("CloseIO"), request, Empty)

    async def update(self, container_id: str, resources: Mapping[str, Any]) -> None:
        """Apply OCI ``linux.resources`` to the running task."""
        request = pb.UpdateTaskRequest(
            container_id=container_id,
            resources=AnyMessage(type_url=RESOURCES_TYPE_URL, value=json.dumps(resources).encode()),
        )
        await self._connection.unary(_path("Update"), request, Empty)

    async def pids(self, container_id: str) -> builtins.list[int]:
        request = pb.ListPidsRequest(container_id=container_id)
        reply = await self._connection.unary(_path("ListPids"), request, pb.ListPidsResponse)
        return [process.pid for process in reply.processes]
