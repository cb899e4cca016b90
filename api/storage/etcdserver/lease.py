"""etcd's Lease service over a ``Store``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from api.storage.errors import LeaseNotFound
from api.storage.etcd.wire import header
from api.storage.etcdserver.errors import answered_as_etcd
from api.storage.protocol import Backend

Context = grpc.aio.ServicerContext[Any, Any]


class LeaseService(rpc_pb2_grpc.LeaseServicer):  # type: ignore[misc]
    def __init__(self, store: Backend) -> None:
        self.store = store

    async def _header(self) -> Any:
        return header(await self.store.current_revision())

    @answered_as_etcd
    async def LeaseGrant(self, request: Any, context: Context) -> Any:
        lease = await self.store.grant_lease(request.TTL, lease_id=request.ID)
        return rpc_pb2.LeaseGrantResponse(header=await self._header(), ID=lease.id, TTL=lease.ttl)

    @answered_as_etcd
    async def LeaseRevoke(self, request: Any, context: Context) -> Any:
        await self.store.revoke_lease(request.ID)
        return rpc_pb2.LeaseRevokeResponse(header=await self._header())

    async def LeaseKeepAlive(self, requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
        async for request in requests:
            try:
                lease = await self.store.keep_alive(request.ID)
                ttl = lease.ttl
            except LeaseNotFound:
                ttl = 0
            yield rpc_pb2.LeaseKeepAliveResponse(header=await self._header(), ID=request.ID, TTL=ttl)

    @answered_as_etcd
    async def LeaseTimeToLive(self, request: Any, context: Context) -> Any:
        try:
            status = await self.store.lease_status(request.ID)
        except LeaseNotFound:
            return rpc_pb2.LeaseTimeToLiveResponse(header=await self._header(), ID=request.ID, TTL=-1)
        return rpc_pb2.LeaseTimeToLiveResponse(
            header=await self._header(),
            ID=request.ID,
            TTL=status.remaining_ttl,
            grantedTTL=status.granted_ttl,
            keys=list(status.keys) if request.keys else [],
        )

    @answered_as_etcd
    async def LeaseLeases(self, request: Any, context: Context) -> Any:
        leases = [rpc_pb2.LeaseStatus(ID=lease_id) for lease_id in await self.store.leases()]
        return rpc_pb2.LeaseLeasesResponse(header=await self._header(), leases=leases)
