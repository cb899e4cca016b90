"""containerd's snapshotter (overlayfs by default) and diff applier: how layers become filesystems."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.empty_pb2 import Empty

from shims.containerd._gen.services.diff.v1 import diff_pb2
from shims.containerd._gen.services.snapshots.v1 import snapshots_pb2 as pb
from shims.containerd.client.connection import Connection, method_path
from shims.containerd.client.types import (
    Mount,
    SnapshotInfo,
    descriptor_from_proto,
    descriptor_to_proto,
    mount_from_proto,
    mount_to_proto,
)
from shims.oci.content import Descriptor

DEFAULT_SNAPSHOTTER = "overlayfs"


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Snapshots", method)


def _info(message: pb.Info) -> SnapshotInfo:
    return SnapshotInfo(
        name=message.name,
        parent=message.parent,
        kind=pb.Kind.Name(message.kind).lower(),
        labels=dict(message.labels),
    )


class Snapshots:
    def __init__(self, connection: Connection, snapshotter: str = DEFAULT_SNAPSHOTTER) -> None:
        self._connection = connection
        self.snapshotter = snapshotter

    async def prepare(
        self, key: str, parent: str = "", labels: Mapping[str, str] | None = None
    ) -> list[Mount]:
        """An active (writable) snapshot ``key`` over the committed ``parent``; its mounts."""
        request = pb.PrepareSnapshotRequest(
            snapshotter=self.snapshotter, key=key, parent=parent, labels=dict(labels or {})
        )
        reply = await self._connection.unary(_path("Prepare"), request, pb.PrepareSnapshotResponse)
        return [mount_from_proto(mount) for mount in reply.mounts]

    async def mounts(self, key: str) -> list[Mount]:
        request = pb.MountsRequest(snapshotter=self.snapshotter, key=key)
        reply = await self._connection.unary(_path("Mounts"), request, pb.MountsResponse)
        return [mount_from_proto(mount) for mount in reply.mounts]

    async def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None:
        """Turn the active snapshot ``key`` into the committed ``name`` (the key is gone after)."""
        request = pb.CommitSnapshotRequest(
            snapshotter=self.snapshotter, name=name, key=key, labels=dict(labels or {})
        )
        await self._connection.unary(_path("Commit"), request, Empty)

    async def remove(self, key: str) -> None:
        await self._connection.unary(
            _path("Remove"), pb.RemoveSnapshotRequest(snapshotter=self.snapshotter, key=key), Empty
        )

    async def stat(self, key: str) -> SnapshotInfo:
        request = pb.StatSnapshotRequest(snapshotter=self.snapshotter, key=key)
        reply = await self._connection.unary(_path("Stat"), request, pb.StatSnapshotResponse)
        return _info(reply.info)

    async def list(self, *filters: str) -> list[SnapshotInfo]:
        request = pb.ListSnapshotsRequest(snapshotter=self.snapshotter, filters=list(filters))
        stream = self._connection.server_stream(_path("List"), request, pb.ListSnapshotsResponse)
        return [_info(info) async for reply in stream for info in reply.info]

    async def usage(self, key: str) -> tuple[int, int]:
        """Bytes and inodes the snapshot ``key`` uses on its own."""
        request = pb.UsageRequest(snapshotter=self.snapshotter, key=key)
        reply = await self._connection.unary(_path("Usage"), request, pb.UsageResponse)
        return reply.size, reply.inodes


class Diffs:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def apply(self, layer: Descriptor, mounts: list[Mount]) -> Descriptor:
        """Unpack the layer blob from the content store onto ``mounts``; the uncompressed descriptor."""
        request = diff_pb2.ApplyRequest(
            diff=descriptor_to_proto(layer), mounts=[mount_to_proto(mount) for mount in mounts]
        )
        path = method_path(diff_pb2.DESCRIPTOR, "Diff", "Apply")
        reply = await self._connection.unary(path, request, diff_pb2.ApplyResponse)
        return descriptor_from_proto(reply.applied)
