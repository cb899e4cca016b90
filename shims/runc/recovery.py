"""Startup: records back into memory, exits that happened while down, and half-made leftovers cleaned."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil

from cri.ids import container_name, sandbox_name
from shims.node import conmon, infra, namespaces
from shims.runc.records import ContainerRecord
from shims.runc.runtime import RuncRuntime
from shims.runc.state import log


async def recover(runtime: RuncRuntime) -> None:
    loaded = await asyncio.to_thread(runtime.store.load)
    for sandbox in loaded.sandboxes:
        if sandbox.setting_up:
            log.info("recovery: tearing down pod sandbox %s, still being set up at the crash", sandbox.id)
            await runtime._tear_down(sandbox, remove=True)
            continue
        runtime.sandboxes[sandbox.id] = sandbox
        if sandbox.infra is not None and sandbox.ready:
            if infra.is_alive(sandbox.infra):
                runtime.watch_infra(sandbox)
            else:
                log.info("recovery: the infra process of pod sandbox %s ended while down", sandbox.id)
                runtime.commit(dataclasses.replace(sandbox, ready=False))
        meta = sandbox.metadata
        runtime.sandbox_names.reserve(
            sandbox_name(meta.name, meta.namespace, meta.uid, meta.attempt), sandbox.id
        )
    for container in loaded.containers:
        if container.sandbox_id not in runtime.sandboxes:
            log.info("recovery: removing container %s of a missing sandbox", container.id)
            runtime.containers[container.id] = container
            await runtime._destroy(container)
            runtime.store.delete(container)
            del runtime.containers[container.id]
            continue
        await _recover_container(runtime, container)
    await asyncio.to_thread(_clean_orphans, runtime)
    log.info("recovered %d pod sandboxes and %d containers", len(runtime.sandboxes), len(runtime.containers))


async def _recover_container(runtime: RuncRuntime, container: ContainerRecord) -> None:
    sandbox = runtime.sandboxes[container.sandbox_id]
    runtime.containers[container.id] = container
    if not container.conmon_pid and not container.prepared:
        log.info("recovery: removing half-created container %s", container.id)
        await runtime._destroy(container)
        runtime.store.delete(container)
        del runtime.containers[container.id]
        return
    pod = sandbox.metadata
    name = container_name(
        container.metadata.name, pod.name, pod.namespace, pod.uid, container.metadata.attempt
    )
    runtime.container_names.reserve(name, container.id)
    if container.finished_at:
        return
    if container.creation_pending:
        log.info("recovery: container %s was still being created", container.id)
        await runtime.resume_creation(container)
        return
    if await asyncio.to_thread(conmon.is_conmon_of, container.conmon_pid, container.id):
        runtime.watch_exit(container)
    else:
        runtime.record_exit(container.id)
        await runtime.release_host(runtime.containers[container.id])


def _clean_orphans(runtime: RuncRuntime) -> None:
    """Directories, mounts and pins no record describes (a crash between the record and the action)."""
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
