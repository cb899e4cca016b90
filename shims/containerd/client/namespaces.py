"""containerd namespaces: the shim keeps everything it makes in its own namespace."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.empty_pb2 import Empty

from shims.containerd._gen.services.namespaces.v1 import namespace_pb2 as pb
from shims.containerd.client.connection import Connection, method_path


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Namespaces", method)


class Namespaces:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def create(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """Create ``name``; the request carries ``name`` as its namespace too, as containerd wants."""
        request = pb.CreateNamespaceRequest(namespace=pb.Namespace(name=name, labels=labels or {}))
        await self._connection.with_namespace(name).unary(
            _path("Create"), request, pb.CreateNamespaceResponse
        )

    async def delete(self, name: str) -> None:
        """Delete an empty namespace (FailedPrecondition while it holds anything)."""
        request = pb.DeleteNamespaceRequest(name=name)
        await self._connection.with_namespace(name).unary(_path("Delete"), request, Empty)

    async def list(self) -> list[str]:
        reply = await self._connection.unary(
            _path("List"), pb.ListNamespacesRequest(), pb.ListNamespacesResponse
        )
        return [namespace.name for namespace in reply.namespaces]
