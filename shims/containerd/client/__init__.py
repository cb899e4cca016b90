"""A small typed asyncio client for containerd's native gRPC API, scoped to one namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shims.containerd.client.connection import DEFAULT_ADDRESS, Connection, connect
from shims.containerd.client.containers import ContainerRecord, Containers
from shims.containerd.client.content import Content
from shims.containerd.client.events import Subscribed, subscribe
from shims.containerd.client.images import Images
from shims.containerd.client.leases import Leases
from shims.containerd.client.namespaces import Namespaces
from shims.containerd.client.snapshots import DEFAULT_SNAPSHOTTER, Diffs, Snapshots
from shims.containerd.client.tasks import Exit, ProcessState, Stdio, Tasks
from shims.containerd.client.types import ContentInfo, Event, ImageRecord, Mount, SnapshotInfo
from shims.containerd.client.version import Version


class Client:
    """The containerd services the shim uses, all on one connection and namespace."""

    def __init__(self, connection: Connection, *, snapshotter: str = DEFAULT_SNAPSHOTTER) -> None:
        self.connection = connection
        self.namespace = connection.namespace
        self.namespaces = Namespaces(connection)
        self.leases = Leases(connection)
        self.content = Content(connection)
        self.images = Images(connection)
        self.snapshots = Snapshots(connection, snapshotter)
        self.diffs = Diffs(connection)
        self.version = Version(connection)
        self.containers = Containers(connection)
        self.tasks = Tasks(connection)

    def events(self, *filters: str) -> AsyncIterator[Event | Subscribed]:
        return subscribe(self.connection, *filters)


@asynccontextmanager
async def open_client(
    address: str = DEFAULT_ADDRESS, *, namespace: str, snapshotter: str = DEFAULT_SNAPSHOTTER
) -> AsyncIterator[Client]:
    async with connect(address, namespace=namespace) as connection:
        yield Client(connection, snapshotter=snapshotter)


__all__ = [
    "Client",
    "ContainerRecord",
    "ContentInfo",
    "Event",
    "Exit",
    "ImageRecord",
    "Mount",
    "ProcessState",
    "SnapshotInfo",
    "Stdio",
    "Subscribed",
    "open_client",
]
