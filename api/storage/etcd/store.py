"""``EtcdStore``: the store over an etcd v3 cluster (3.4+), in the transaction shapes the apiserver uses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from api.storage.errors import Compacted, LeaseNotFound, Unavailable
from api.storage.etcd.errors import store_error
from api.storage.etcd.watch import STREAM_END, EtcdWatch
from api.storage.etcd.wire import range_result_from_wire, range_to_wire, txn_result_from_wire, txn_to_wire
from api.storage.ops import KeyValueOps
from api.storage.types import Lease, LeaseStatus, Put, Range, RangeResult, StoreStatus, Txn, TxnResult

T = TypeVar("T")
RETRY_BACKOFF_SECONDS = 0.05
NOT_APPLIED = ("etcdserver: no leader", "etcdserver: not capable")
"""etcd errors returned before a request is proposed: retrying cannot apply it twice."""


def _retryable(exc: grpc.aio.AioRpcError, *, idempotent: bool) -> bool:
    if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return False
    details = exc.details() or ""
    never_sent = exc.code() is grpc.StatusCode.UNAVAILABLE and details.startswith("failed to connect")
    return idempotent or never_sent or details.startswith(NOT_APPLIED)


MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class EtcdOptions:
    """``endpoints`` are host:port of the members; requests fail over between them."""

    endpoints: tuple[str, ...]
    timeout: float = 10.0


class EtcdStore(KeyValueOps):
    def __init__(self, options: EtcdOptions) -> None:
        if not options.endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.options = options
        self._channel: grpc.aio.Channel | None = None
        self._stubs: dict[str, Any] = {}

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        target = "ipv4:" + ",".join(self.options.endpoints)
        self._channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.lb_policy_name", "round_robin"),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.initial_reconnect_backoff_ms", 200),
                ("grpc.max_reconnect_backoff_ms", 2000),
            ],
        )
        self._stubs = {
            "kv": rpc_pb2_grpc.KVStub(self._channel),
            "watch": rpc_pb2_grpc.WatchStub(self._channel),
            "lease": rpc_pb2_grpc.LeaseStub(self._channel),
            "maintenance": rpc_pb2_grpc.MaintenanceStub(self._channel),
        }

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None

    def _stub(self, name: str) -> Any:
        if self._channel is None:
            raise Unavailable("the etcd store is not open")
        return self._stubs[name]

    async def _call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Any,
        *,
        revision: int = 0,
        lease_id: int = 0,
        idempotent: bool = True,
    ) -> T:
        """One RPC, retried within the timeout while no member answers, if a retry cannot apply it twice."""
        deadline = time.monotonic() + self.options.timeout
        backoff = RETRY_BACKOFF_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            try:
                return await method(request, timeout=max(remaining, 0.001), wait_for_ready=True)
            except grpc.aio.AioRpcError as exc:
                if not _retryable(exc, idempotent=idempotent) or remaining <= backoff:
                    raise store_error(exc, revision=revision, lease_id=lease_id) from exc
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def txn(self, txn: Txn) -> TxnResult:
        leases = [op.lease for op in txn.success + txn.failure if isinstance(op, Put) and op.lease]
        response = await self._call(
            self._stub("kv").Txn, txn_to_wire(txn), lease_id=leases[0] if leases else 0
        )
        return txn_result_from_wire(response)

    async def range(self, request: Range) -> RangeResult:
        response = await self._call(self._stub("kv").Range, range_to_wire(request), revision=request.revision)
        return range_result_from_wire(response)

    async def watch(
        self,
        key: bytes,
        *,
        range_end: bytes = b"",
        start_revision: int = 0,
        prev_kv: bool = True,
        progress_notify: bool = False,
    ) -> EtcdWatch:
        if start_revision > 0:
            await self._check_not_compacted(key, start_revision)
        request = rpc_pb2.WatchCreateRequest(
            key=key,
            range_end=range_end,
            start_revision=start_revision,
            prev_kv=prev_kv,
            progress_notify=progress_notify,
        )
        return await EtcdWatch.create(self._stub("watch"), request, timeout=self.options.timeout)

    async def _check_not_compacted(self, key: bytes, revision: int) -> None:
        """etcd reports a compacted watch only after confirming it; a read at the revision tells at once."""
        current = await self.current_revision()
        if revision > current:
            return
        try:
            await self.range(Range(key, revision=revision, count_only=True))
        except Compacted as exc:
            raise Compacted(requested=revision, compact_revision=exc.compact_revision) from exc

    async def compact(self, revision: int) -> None:
        await self._call(
            self._stub("kv").Compact,
            rpc_pb2.CompactionRequest(revision=revision),
            revision=revision,
            idempotent=False,
        )

    async def current_revision(self) -> int:
        response = await self._call(self._stub("kv").Range, rpc_pb2.RangeRequest(key=b"\0", count_only=True))
        revision: int = response.header.revision
        return revision

    async def grant_lease(self, ttl: int, *, lease_id: int = 0) -> Lease:
        response = await self._call(
            self._stub("lease").LeaseGrant, rpc_pb2.LeaseGrantRequest(TTL=ttl, ID=lease_id), idempotent=False
        )
        if response.error:
            raise Unavailable(f"etcd refused the lease: {response.error}")
        return Lease(id=response.ID, ttl=response.TTL)

    async def keep_alive(self, lease_id: int) -> Lease:
        call = self._stub("lease").LeaseKeepAlive(timeout=self.options.timeout)
        try:
            await call.write(rpc_pb2.LeaseKeepAliveRequest(ID=lease_id))
            response = await call.read()
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc, lease_id=lease_id) from exc
        finally:
            call.cancel()
        if response is STREAM_END or response.TTL <= 0:
            raise LeaseNotFound(lease_id)
        return Lease(id=lease_id, ttl=response.TTL)

    async def revoke_lease(self, lease_id: int) -> None:
        await self._call(
            self._stub("lease").LeaseRevoke,
            rpc_pb2.LeaseRevokeRequest(ID=lease_id),
            lease_id=lease_id,
            idempotent=False,
        )

    async def lease_status(self, lease_id: int) -> LeaseStatus:
        request = rpc_pb2.LeaseTimeToLiveRequest(ID=lease_id, keys=True)
        response = await self._call(self._stub("lease").LeaseTimeToLive, request, lease_id=lease_id)
        if response.TTL < 0:
            raise LeaseNotFound(lease_id)
        return LeaseStatus(lease_id, response.grantedTTL, response.TTL, tuple(sorted(response.keys)))

    async def leases(self) -> tuple[int, ...]:
        response = await self._call(self._stub("lease").LeaseLeases, rpc_pb2.LeaseLeasesRequest())
        return tuple(lease.ID for lease in response.leases)

    async def status(self) -> StoreStatus:
        response = await self._call(self._stub("maintenance").Status, rpc_pb2.StatusRequest())
        return StoreStatus(response.header.revision, 0, response.dbSize, f"etcd {response.version}")
