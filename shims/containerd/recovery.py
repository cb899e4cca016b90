"""A restarted shim rebuilds its table from containerd alone: each sandbox and container record from
its container's extension, its state from its task (an exit while the shim was down included)."""

from __future__ import annotations

import dataclasses
import logging
import time

from shims.containerd.infra import SANDBOX_KIND
from shims.containerd.inventory import Held, inventory
from shims.containerd.records import container_from, sandbox_from
from shims.containerd.runtime import ContainerdRuntime

log = logging.getLogger("shims.containerd")


async def recover(runtime: ContainerdRuntime) -> None:
    held = await inventory(runtime.client)
    for item in held:
        if item.kind == SANDBOX_KIND:
            _adopt_sandbox(runtime, item)
    for item in held:
        if item.kind != SANDBOX_KIND:
            _adopt_container(runtime, item)
    if held:
        log.info("recovery: %d sandboxes and containers read back from containerd", len(held))


def _adopt_sandbox(runtime: ContainerdRuntime, item: Held) -> None:
    record = sandbox_from(item.record.extensions)
    if record is None:
        return
    running = item.task is not None and item.task.status == "running"
    pid = item.task.pid if item.task is not None else 0
    runtime.table.adopt(dataclasses.replace(record, infra_pid=pid, ready=record.ready and running))


def _adopt_container(runtime: ContainerdRuntime, item: Held) -> None:
    record = container_from(item.record.extensions)
    if record is None or record.sandbox_id not in runtime.table.sandboxes:
        return
    task = item.task
    if task is not None:
        started = record.started_at or time.time_ns()
        record = dataclasses.replace(record, started_at=started, pid=task.pid)
    runtime.table.adopt(record)
    if task is not None and task.status == "running":
        runtime.container_manager.resume_output(record)
    if task is not None and task.status == "stopped":
        runtime.container_manager.record_exit(record.id, task.exit_status, task.exited_at, oom=False)
