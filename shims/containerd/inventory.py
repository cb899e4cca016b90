"""What containerd holds for the shim, read back after a restart: every sandbox and container record
the shim made (by its kind label) with the state of its task, if it has one.

containerd keeps the truth, so a restarted shim rebuilds from this and nothing else; a task that
stopped while the shim was down shows as stopped with its exit status.
"""

from __future__ import annotations

from dataclasses import dataclass

from shims.containerd.client import Client, ContainerRecord, ProcessState
from shims.containerd.lifecycle import KIND_LABEL


@dataclass(frozen=True, kw_only=True, slots=True)
class Held:
    record: ContainerRecord
    task: ProcessState | None
    """None: no task (never started, or deleted)."""

    @property
    def kind(self) -> str:
        return self.record.labels[KIND_LABEL]


async def inventory(client: Client) -> list[Held]:
    """The shim's sandboxes and containers in its namespace (records of others are left out)."""
    records = await client.containers.list(f'labels."{KIND_LABEL}"')
    tasks = {task.container_id: task for task in await client.tasks.list()}
    return [Held(record=record, task=tasks.get(record.id)) for record in records]
