"""A container's life in containerd: created from its image's snapshot with its OCI spec, started
with its output copied into its CRI log, stopped with its stop signal then SIGKILL, removed with its
task, record, snapshot and FIFOs. The OCI spec and the CRI bookkeeping are the caller's."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import NotFound
from shims.containerd.client import Client, ContainerRecord, Mount
from shims.containerd.logcopy import ContainerLog
from shims.containerd.stdio import FifoReader, Fifos, make_fifos
from shims.node.ocispec import build_resources

KIND_LABEL = "io.tinykube.kind"
CONTAINER_KIND = "container"
KILL_WAIT_S = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerSpec:
    container_id: str
    image_id: str
    chain_id: str
    """The image's top snapshot: the container's writable layer goes on it."""
    spec: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Started:
    pid: int
    log: ContainerLog
    copy: Coroutine[Any, Any, None]
    """Copies the output into the log until the process and its children close it: run it supervised."""
    fifos: Fifos


SpecBuilder = Callable[[Sequence[Mount]], Awaitable[Mapping[str, Any]]]
"""The OCI spec from the writable snapshot's mounts (where the image's files are read)."""


async def create(client: Client, spec: ContainerSpec, *, build: SpecBuilder | None = None) -> list[Mount]:
    """The writable snapshot and the container record naming it, made under a lease: until the record
    exists nothing else keeps the snapshot from containerd's garbage collector. ``build``, when given,
    makes the OCI spec in place of ``spec.spec``; the snapshot's mounts are returned."""
    async with client.leases.held():
        mounts = await client.snapshots.prepare(spec.container_id, spec.chain_id)
        try:
            oci = spec.spec if build is None else await build(mounts)
            await client.containers.create(
                ContainerRecord(
                    id=spec.container_id,
                    image=spec.image_id,
                    spec=oci,
                    snapshotter=client.snapshots.snapshotter,
                    snapshot_key=spec.container_id,
                    labels={**spec.labels, KIND_LABEL: CONTAINER_KIND},
                    extensions=spec.extensions,
                )
            )
        except BaseException:
            with contextlib.suppress(NotFound):
                await asyncio.shield(client.snapshots.remove(spec.container_id))
            raise
    return mounts


async def start(
    client: Client, container_id: str, *, fifo_dir: Path, log_path: Path | None, tty: bool
) -> Started:
    """Create the task with FIFOs whose read ends are open, then start it."""
    fifos = make_fifos(fifo_dir, container_id, stdin=False, terminal=tty)
    readers = {"stdout": FifoReader(fifos.stdout)}
    if fifos.stderr is not None:
        readers["stderr"] = FifoReader(fifos.stderr)
    log = ContainerLog(log_path)
    try:
        mounts = await client.snapshots.mounts(container_id)
        await client.tasks.create(container_id, fifos.stdio(terminal=tty), rootfs=mounts)
        pid = await client.tasks.start(container_id)
    except BaseException:
        for reader in readers.values():
            reader.close()
        log.close()
        fifos.remove()
        raise
    return Started(pid=pid, log=log, copy=log.copy(readers), fifos=fifos)


async def stop(client: Client, container_id: str, *, stop_signal: int, timeout: float) -> None:
    """``stop_signal``, then SIGKILL to every process once ``timeout`` passed; a task that is gone or
    has stopped is fine."""
    with contextlib.suppress(NotFound):
        if (await client.tasks.get(container_id)).status == "stopped":
            return
        exited = asyncio.ensure_future(client.tasks.wait(container_id))
        try:
            if timeout > 0:
                await client.tasks.kill(container_id, stop_signal)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), timeout)
            if not exited.done():
                await client.tasks.kill(container_id, signal.SIGKILL, every_process=True)
                await asyncio.wait_for(exited, KILL_WAIT_S)
        finally:
            exited.cancel()


async def remove(client: Client, container_id: str, *, fifos: Fifos | None = None) -> None:
    """Everything of the container in containerd (its task stopped first) and its FIFOs."""
    await stop(client, container_id, stop_signal=signal.SIGKILL, timeout=0)
    with contextlib.suppress(NotFound):
        await client.tasks.delete(container_id)
    with contextlib.suppress(NotFound):
        await client.containers.delete(container_id)
    with contextlib.suppress(NotFound):
        await client.snapshots.remove(container_id)
    if fifos is not None:
        fifos.remove()


async def update_resources(client: Client, container_id: str, resources: d.LinuxContainerResources) -> None:
    """UpdateContainerResources on the running task (runc update), devices left as created; the
    caller keeps the new resources in its record."""
    linux = build_resources(resources, privileged=False)
    linux.pop("devices", None)
    await client.tasks.update(container_id, linux)
