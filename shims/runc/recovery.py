"""Startup: records back into memory, exits that happened while down, and half-made leftovers cleaned."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil

from shims.node import conmon, namespaces
from shims.runc.records import ContainerRecord
from shims.runc.runtime import RuncRuntime

log = logging.getLogger("shims.runc")


async def recover(runtime: RuncRuntime) -> None:
    loaded = await asyncio.to_thread(runtime.store.load)
    sandboxes, containers = runtime.sandbox_manager, runtime.container_manager
    for sandbox in loaded.sandboxes:
        if sandbox.setting_up:
            log.info("recovery: tearing down pod sandbox %s, still being set up at the crash", sandbox.id)
            await sandboxes.discard(sandbox)
        else:
            sandboxes.adopt(sandbox)
    for container in loaded.containers:
        if container.sandbox_id not in runtime.sandboxes:
            log.info("recovery: removing container %s of a missing sandbox", container.id)
            await containers.discard(container)
        elif not container.conmon_pid and not container.prepared:
            log.info("recovery: removing half-created container %s", container.id)
            await containers.discard(container)
        else:
            await _recover_container(runtime, container)
    for lost in await asyncio.to_thread(_lost_sandboxes, runtime):
        await sandboxes.release_lost(lost)
    await asyncio.to_thread(_clean_orphans, runtime)
    log.info("recovered %d pod sandboxes and %d containers", len(runtime.sandboxes), len(runtime.containers))


async def _recover_container(runtime: RuncRuntime, container: ContainerRecord) -> None:
    runtime.table.adopt(container)
    if container.finished_at:
        return
    manager = runtime.container_manager
    if container.creation_pending:
        log.info("recovery: container %s was still being created", container.id)
        await manager.resume_creation(container)
    elif await asyncio.to_thread(conmon.is_conmon_of, container.conmon_pid, container.id):
        manager.watch_exit(container)
    else:
        manager.record_exit(container.id)
        await runtime.container_host.release(runtime.containers[container.id])


def _lost_sandboxes(runtime: RuncRuntime) -> list[str]:
    """Blocking: the sandboxes with a directory and no record (a crash before the record, or a
    record quarantined)."""
    directory = runtime.paths.state / "sandboxes"
    if not directory.is_dir():
        return []
    return [entry.name for entry in directory.iterdir() if entry.name not in runtime.sandboxes]


def _clean_orphans(runtime: RuncRuntime) -> None:
    """Directories, mounts and pins no record describes (a crash between the record and the action,
    or a record that could not be read)."""
    paths = runtime.paths
    for directory, known in (
        (paths.state / "sandboxes", runtime.sandboxes),
        (paths.state / "containers", runtime.containers),
        (paths.root / "containers", runtime.containers),
    ):
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            if entry.name in known:
                continue
            log.info("recovery: cleaning leftover %s", entry)
            for mounted in (
                entry / "ns" / "net",
                entry / "ns" / "ipc",
                entry / "ns" / "uts",
                entry / "shm",
                entry / "rootfs",
            ):
                with contextlib.suppress(OSError):
                    namespaces.unmount(mounted)
            shutil.rmtree(entry, ignore_errors=True)
    for exit_file in paths.exit_dir.glob("*") if paths.exit_dir.is_dir() else ():
        if exit_file.name not in runtime.containers:
            with contextlib.suppress(OSError):
                os.unlink(exit_file)


__all__ = ["recover"]
