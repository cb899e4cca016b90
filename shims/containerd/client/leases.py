"""containerd leases: what is made under a lease survives garbage collection until the lease goes.

A lease carries ``containerd.io/gc.expire``, so one left behind by a crash expires by itself.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from google.protobuf.empty_pb2 import Empty

from shims.containerd._gen.services.leases.v1 import leases_pb2 as pb
from shims.containerd.client.connection import Connection, current_lease, method_path

EXPIRE_LABEL = "containerd.io/gc.expire"
DEFAULT_EXPIRY = timedelta(hours=1)


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Leases", method)


class Leases:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def create(
        self,
        lease_id: str = "",
        *,
        expire: timedelta = DEFAULT_EXPIRY,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        deadline = (datetime.now(UTC) + expire).strftime("%Y-%m-%dT%H:%M:%SZ")
        request = pb.CreateRequest(
            id=lease_id or f"tinykube-{secrets.token_hex(8)}",
            labels={**(labels or {}), EXPIRE_LABEL: deadline},
        )
        reply = await self._connection.unary(_path("Create"), request, pb.CreateResponse)
        return reply.lease.id

    async def delete(self, lease_id: str, *, sync: bool = False) -> None:
        """Drop the lease; with ``sync`` containerd collects what it alone held before answering."""
        await self._connection.unary(_path("Delete"), pb.DeleteRequest(id=lease_id, sync=sync), Empty)

    async def list(self) -> list[str]:
        reply = await self._connection.unary(_path("List"), pb.ListRequest(), pb.ListResponse)
        return [lease.id for lease in reply.leases]

    @asynccontextmanager
    async def held(self, *, expire: timedelta = DEFAULT_EXPIRY, collect: bool = False) -> AsyncIterator[str]:
        """A lease every call of this task (and the tasks it starts) runs under, deleted on exit (with
        ``collect``, after containerd has collected what only the lease held)."""
        lease_id = await self.create(expire=expire)
        token = current_lease.set(lease_id)
        try:
            yield lease_id
        finally:
            current_lease.reset(token)
            await self.delete(lease_id, sync=collect)
