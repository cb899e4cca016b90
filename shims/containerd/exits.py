"""Exits of a namespace's tasks, from containerd's event stream, with none lost to a break.

Each time the subscription opens (at start, after the shim or containerd restarted) the tasks that
are already stopped are reported from Tasks.List; after that, TaskExit events report the rest. A
consumer therefore sees an exit at least once and records it idempotently. OOM kills come as
TaskOOM before the TaskExit of the same container; an OOM kill while no subscription was open is
not known (containerd keeps no event backlog).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from shims.containerd._gen.events import task_pb2
from shims.containerd.client import Client, Event, Subscribed
from shims.containerd.client.types import time_from_proto


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskExited:
    container_id: str
    exec_id: str
    """"" for the container's init process."""
    exit_status: int
    exited_at: datetime | None
    oom_killed: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class OomKilled:
    """A TaskOOM; containerd may publish it after the TaskExit of the same container."""

    container_id: str


async def task_exits(client: Client) -> AsyncIterator[TaskExited | OomKilled | Subscribed]:
    """Exits in ``client``'s namespace, for as long as the caller iterates; ``Subscribed`` follows
    the exits of tasks that stopped before the subscription opened (events report the later ones)."""
    oom_killed: set[str] = set()
    tasks_of_namespace = f'namespace=="{client.namespace}",topic~="^/tasks/"'
    async for item in client.events(tasks_of_namespace):
        if isinstance(item, Subscribed):
            for task in await client.tasks.list():
                if task.status == "stopped":
                    yield TaskExited(
                        container_id=task.container_id,
                        exec_id="",
                        exit_status=task.exit_status,
                        exited_at=task.exited_at,
                        oom_killed=task.container_id in oom_killed,
                    )
            yield item
        elif isinstance(item.payload, task_pb2.TaskOOM):
            oom_killed.add(item.payload.container_id)
            yield OomKilled(container_id=item.payload.container_id)
        elif (exited := _exit(item, oom_killed)) is not None:
            yield exited


def _exit(event: Event, oom_killed: set[str]) -> TaskExited | None:
    payload = event.payload
    if not isinstance(payload, task_pb2.TaskExit):
        return None
    init = payload.id in ("", payload.container_id)
    killed = init and payload.container_id in oom_killed
    if init:
        oom_killed.discard(payload.container_id)
    return TaskExited(
        container_id=payload.container_id,
        exec_id="" if init else payload.id,
        exit_status=payload.exit_status,
        exited_at=time_from_proto(payload.exited_at),
        oom_killed=killed,
    )
