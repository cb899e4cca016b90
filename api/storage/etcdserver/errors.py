"""The store's errors as etcd reports them (code and message), so etcd clients react as they would to etcd."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from api.storage.errors import (
    Compacted,
    Conflict,
    FutureRevision,
    InvalidRequest,
    KeyExists,
    KeyNotFound,
    LeaseNotFound,
    StoreError,
    Unavailable,
    WatchCancelled,
)

COMPACTED = "etcdserver: mvcc: required revision has been compacted"
FUTURE_REVISION = "etcdserver: mvcc: required revision is a future revision"
LEASE_NOT_FOUND = "etcdserver: requested lease not found"


def grpc_status(exc: StoreError) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, Compacted):
        return grpc.StatusCode.OUT_OF_RANGE, COMPACTED
    if isinstance(exc, FutureRevision):
        return grpc.StatusCode.OUT_OF_RANGE, FUTURE_REVISION
    if isinstance(exc, LeaseNotFound):
        return grpc.StatusCode.NOT_FOUND, LEASE_NOT_FOUND
    if isinstance(exc, InvalidRequest):
        return grpc.StatusCode.INVALID_ARGUMENT, f"etcdserver: {exc.message}"
    if isinstance(exc, KeyExists | KeyNotFound | Conflict):
        return grpc.StatusCode.FAILED_PRECONDITION, f"etcdserver: {exc.message}"
    if isinstance(exc, Unavailable | WatchCancelled):
        return grpc.StatusCode.UNAVAILABLE, f"etcdserver: {exc.message}"
    return grpc.StatusCode.INTERNAL, f"etcdserver: {exc.message}"


Handler = Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def answered_as_etcd(method: Handler) -> Handler:
    """Turn store errors raised by a unary handler into etcd's status code and message."""

    @functools.wraps(method)
    async def guarded(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await method(self, request, context)
        except StoreError as exc:
            code, message = grpc_status(exc)
            await context.abort(code, message)

    return guarded
