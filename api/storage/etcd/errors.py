"""etcd's gRPC errors mapped once onto the store's error tree."""

from __future__ import annotations

import grpc

from api.storage.errors import (
    Compacted,
    FutureRevision,
    InvalidRequest,
    LeaseNotFound,
    StoreError,
    Unavailable,
)


def store_error(exc: grpc.aio.AioRpcError, *, revision: int = 0, lease_id: int = 0) -> StoreError:
    code, details = exc.code(), exc.details() or ""
    if "required revision has been compacted" in details:
        return Compacted(requested=revision, compact_revision=0)
    if "required revision is a future revision" in details:
        return FutureRevision(requested=revision, current=0)
    if "requested lease not found" in details:
        return LeaseNotFound(lease_id)
    if code in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
    ):
        return InvalidRequest(f"etcd refused the request: {details}")
    return Unavailable(f"etcd is unavailable ({code.name}): {details}")
