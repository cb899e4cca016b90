"""A watch over etcd's bidirectional Watch stream, as batches of one revision each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import groupby
from typing import Any

import grpc
from aetcd.rpc import rpc_pb2

from api.storage.errors import Compacted, WatchCancelled
from api.storage.etcd.errors import store_error
from api.storage.etcd.wire import event_from_wire
from api.storage.types import WatchBatch

STREAM_END: Any = grpc.aio.EOF  # type: ignore[attr-defined]


class EtcdWatch:
    def __init__(self, call: Any, *, start_revision: int) -> None:
        self._call = call
        self._start_revision = start_revision
        self._closed = False

    @classmethod
    async def create(cls, stub: Any, request: Any, *, timeout: float) -> EtcdWatch:
        call = stub.Watch()
        await call.write(rpc_pb2.WatchRequest(create_request=request))
        try:
            async with asyncio.timeout(timeout):
                created = await call.read()
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc, revision=request.start_revision) from exc
        except TimeoutError as exc:
            call.cancel()
            raise WatchCancelled(f"etcd did not confirm the watch within {timeout}s") from exc
        if created is STREAM_END or not created.created:
            call.cancel()
            raise WatchCancelled("etcd did not confirm the watch")
        return cls(call, start_revision=request.start_revision)

    def __aiter__(self) -> AsyncIterator[WatchBatch]:
        return self._batches()

    async def close(self) -> None:
        self._closed = True
        self._call.cancel()

    async def _batches(self) -> AsyncIterator[WatchBatch]:
        while not self._closed:
            try:
                response = await self._call.read()
            except (grpc.aio.AioRpcError, asyncio.CancelledError) as exc:
                if self._closed:
                    return
                if isinstance(exc, grpc.aio.AioRpcError):
                    raise store_error(exc) from exc
                raise
            if response is STREAM_END:
                if self._closed:
                    return
                raise WatchCancelled("etcd closed the watch stream")
            for batch in _batches_of(response, start_revision=self._start_revision):
                yield batch


def _batches_of(response: Any, *, start_revision: int) -> list[WatchBatch]:
    if response.compact_revision:
        raise Compacted(requested=start_revision, compact_revision=response.compact_revision)
    if response.canceled:
        raise WatchCancelled(f"etcd cancelled the watch: {response.cancel_reason or 'no reason given'}")
    if not response.events:
        return [WatchBatch(response.header.revision)]
    events = [event_from_wire(e) for e in response.events]
    return [
        WatchBatch(revision, tuple(group))
        for revision, group in groupby(events, key=lambda event: event.kv.mod_revision)
    ]
