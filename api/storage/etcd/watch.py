"""A watch over etcd's bidirectional Watch stream, as batches of one revision each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from itertools import groupby
from typing import Any

import grpc
from aetcd.rpc import rpc_pb2

from api.storage.errors import Compacted, Unavailable, WatchCancelled
from api.storage.etcd.errors import store_error
from api.storage.etcd.wire import event_from_wire
from api.storage.types import WatchBatch

STREAM_END: Any = grpc.aio.EOF  # type: ignore[attr-defined]
RESUME_BACKOFF_SECONDS = 0.1


class EtcdWatch:
    """Follows one etcd watch; when its member goes away, resumes on another from the next revision."""

    def __init__(self, stub: Any, request: Any, *, timeout: float) -> None:
        self._stub = stub
        self._request = request
        self._timeout = timeout
        self._call: Any = None
        self._next_revision = request.start_revision
        self._closed = False
        self._iterator: AsyncIterator[WatchBatch] | None = None

    @classmethod
    async def create(cls, stub: Any, request: Any, *, timeout: float) -> EtcdWatch:
        watch = cls(stub, request, timeout=timeout)
        await watch._open()
        return watch

    async def _open(self) -> None:
        request = rpc_pb2.WatchCreateRequest()
        request.CopyFrom(self._request)
        request.start_revision = self._next_revision
        call = self._stub.Watch()
        try:
            async with asyncio.timeout(self._timeout):
                await call.write(rpc_pb2.WatchRequest(create_request=request))
                created = await call.read()
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc, revision=request.start_revision) from exc
        except TimeoutError as exc:
            call.cancel()
            raise WatchCancelled(f"etcd did not confirm the watch within {self._timeout}s") from exc
        if created is STREAM_END or not created.created:
            call.cancel()
            raise WatchCancelled("etcd did not confirm the watch")
        self._call = call
        if not self._next_revision:
            self._next_revision = created.header.revision + 1

    def __aiter__(self) -> AsyncIterator[WatchBatch]:
        """One iterator per watch: iterating again continues where the last one stopped."""
        if self._iterator is None:
            self._iterator = self._batches()
        return self._iterator

    async def request_progress(self) -> None:
        request = rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest())
        try:
            await self._call.write(request)
        except grpc.aio.AioRpcError as exc:
            raise store_error(exc) from exc

    async def close(self) -> None:
        self._closed = True
        if self._call is not None:
            self._call.cancel()

    async def _batches(self) -> AsyncIterator[WatchBatch]:
        while not self._closed:
            response = await self._read()
            if response is None:
                return
            for batch in _batches_of(response, start_revision=self._next_revision):
                self._next_revision = max(self._next_revision, batch.revision + 1)
                yield batch

    async def _read(self) -> Any:
        deadline = time.monotonic() + self._timeout
        while not self._closed:
            try:
                response = await self._call.read()
            except asyncio.CancelledError:
                if self._closed:
                    return None
                raise
            except grpc.aio.AioRpcError as exc:
                if self._closed:
                    return None
                if exc.code() is not grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise store_error(exc) from exc
                await self._reopen(deadline)
                continue
            if response is STREAM_END:
                if self._closed:
                    return None
                raise WatchCancelled("etcd closed the watch stream")
            return response
        return None

    async def _reopen(self, deadline: float) -> None:
        self._call.cancel()
        while True:
            await asyncio.sleep(RESUME_BACKOFF_SECONDS)
            try:
                await self._open()
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
            else:
                return


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
