"""Fixtures for the containerd shim's tests: a client in a fresh containerd namespace of its own.

Whatever a test leaves in its namespace (images, snapshots, leases, content, ingests) is removed
afterwards and the namespace deleted; a namespace that cannot be deleted fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cri.errors import FailedPrecondition, NotFound
from shims.containerd.client import Client, open_client
from shims.containerd.client.connection import DEFAULT_ADDRESS
from shims.containerd.images import ContainerdImages, ImagesConfig

TASK_STATE = Path("/run/containerd/io.containerd.runtime.v2.task")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    namespace = f"tinykube-test-{secrets.token_hex(4)}"
    async with open_client(DEFAULT_ADDRESS, namespace=namespace) as opened:
        await opened.namespaces.create(namespace, {"tinykube.test": "1"})
        try:
            yield opened
        finally:
            await emptied_and_deleted(opened)
            with contextlib.suppress(OSError):  # containerd leaves the namespace's empty task directory
                (TASK_STATE / namespace).rmdir()


async def emptied_and_deleted(client: Client, *, attempts: int = 5) -> None:
    """Empty the namespace and delete it, again while containerd's GC still holds something back."""
    for attempt in range(attempts):
        await empty_namespace(client)
        try:
            await client.namespaces.delete(client.namespace)
            return
        except FailedPrecondition:
            if attempt == attempts - 1:
                raise


async def empty_namespace(client: Client) -> None:
    """Remove everything a namespace holds, parents after children."""
    for task in await client.tasks.list():
        if task.status != "stopped":
            await client.tasks.kill(task.container_id, signal.SIGKILL, every_process=True)
            async with asyncio.timeout(10):
                await client.tasks.wait(task.container_id)
        await client.tasks.delete(task.container_id)
    for container in await client.containers.list():
        await client.containers.delete(container.id)
    for image in await client.images.list():  # sync: containerd collects before answering
        await client.images.delete(image.name, sync=True)
    for lease in await client.leases.list():
        await client.leases.delete(lease, sync=True)
    for _ in range(20):  # children before parents; containerd's GC may be removing some meanwhile
        snapshots = await client.snapshots.list()
        if not snapshots:
            break
        parents = {snapshot.parent for snapshot in snapshots}
        for leaf in [snapshot for snapshot in snapshots if snapshot.name not in parents]:
            with contextlib.suppress(NotFound, FailedPrecondition):
                await client.snapshots.remove(leaf.name)
    for ref in await client.content.ingests():
        await client.content.abort(ref)
    for info in await client.content.list():
        with contextlib.suppress(NotFound):  # collected meanwhile
            await client.content.delete(info.digest)


@pytest.fixture
async def images(client: Client) -> AsyncIterator[ContainerdImages]:
    async with ContainerdImages.open(client, ImagesConfig()) as opened:
        yield opened
