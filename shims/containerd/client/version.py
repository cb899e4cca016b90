"""containerd's version service: the cheapest call that proves containerd answers."""

from __future__ import annotations

from google.protobuf.empty_pb2 import Empty

from shims.containerd._gen.services.version.v1 import version_pb2 as pb
from shims.containerd.client.connection import Connection, method_path


class Version:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def version(self) -> str:
        path = method_path(pb.DESCRIPTOR, "Version", "Version")
        reply = await self._connection.unary(path, Empty(), pb.VersionResponse, timeout=5.0)
        return reply.version
