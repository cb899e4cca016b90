"""etcd's Watch service over a ``Store``: many watches per stream, created, cancelled and asked for
progress by the client, each pumping the store's batches into the one response stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from api.storage.errors import Compacted, StoreError
from api.storage.etcd.wire import event_to_wire, header
from api.storage.etcdserver.errors import grpc_status
from api.storage.protocol import Backend, Watch
from api.storage.types import EventType, WatchBatch

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
PROGRESS_FOR_ALL = -1
_STREAM_DONE = object()


class _Stream:
    """One client's Watch stream."""

    def __init__(self, store: Backend) -> None:
        self.store = store
        self.responses: asyncio.Queue[Any] = asyncio.Queue()
        self.pumps: dict[int, asyncio.Task[None]] = {}
        self.watches: dict[int, Watch] = {}
        self._next_id = 0

    def _allocate(self, requested: int) -> int | None:
        if requested:
            return None if requested in self.pumps else requested
        while self._next_id in self.pumps:
            self._next_id += 1
        allocated = self._next_id
        self._next_id += 1
        return allocated

    async def handle(self, request: Any) -> None:
        kind = request.WhichOneof("request_union")
        if kind == "create_request":
            await self._create(request.create_request)
        elif kind == "cancel_request":
            await self._cancel(request.cancel_request.watch_id)
        elif kind == "progress_request":
            revision = await self.store.current_revision()
            self.responses.put_nowait(
                rpc_pb2.WatchResponse(header=header(revision), watch_id=PROGRESS_FOR_ALL)
            )

    async def _progress(self) -> None:
        """Each watch answers once its earlier events are out; with no watch, the current revision answers."""
        if not self.watches:
            revision = await self.store.current_revision()
            self.responses.put_nowait(
                rpc_pb2.WatchResponse(header=header(revision), watch_id=PROGRESS_FOR_ALL)
            )
        for watch in list(self.watches.values()):
            await watch.request_progress()

    async def _create(self, create: Any) -> None:
        revision = await self.store.current_revision()
        watch_id = self._allocate(create.watch_id)
        if watch_id is None:
            self.responses.put_nowait(
                rpc_pb2.WatchResponse(
                    header=header(revision),
                    watch_id=create.watch_id,
                    created=True,
                    canceled=True,
                    cancel_reason="etcdserver: duplicate watch ID",
                )
            )
            return
        self.responses.put_nowait(
            rpc_pb2.WatchResponse(header=header(revision), watch_id=watch_id, created=True)
        )
        try:
            watch = await self.store.watch(
                create.key,
                range_end=create.range_end,
                start_revision=create.start_revision,
                prev_kv=create.prev_kv,
            )
        except Compacted as exc:
            self._cancelled(
                watch_id, revision, compact_revision=exc.compact_revision or 1, reason=grpc_status(exc)[1]
            )
            return
        except StoreError as exc:
            self._cancelled(watch_id, revision, reason=grpc_status(exc)[1])
            return
        drop = {
            rpc_pb2.WatchCreateRequest.NOPUT: EventType.PUT,
            rpc_pb2.WatchCreateRequest.NODELETE: EventType.DELETE,
        }
        dropped = {drop[f] for f in create.filters if f in drop}
        self.watches[watch_id] = watch
        self.pumps[watch_id] = asyncio.create_task(self._pump(watch_id, watch, dropped))

    def _cancelled(self, watch_id: int, revision: int, *, reason: str, compact_revision: int = 0) -> None:
        self.responses.put_nowait(
            rpc_pb2.WatchResponse(
                header=header(revision),
                watch_id=watch_id,
                canceled=True,
                cancel_reason=reason,
                compact_revision=compact_revision,
            )
        )

    async def _pump(self, watch_id: int, watch: Watch, dropped: set[EventType]) -> None:
        try:
            async for batch in watch:
                self._send(watch_id, batch, dropped)
        except StoreError as exc:
            self._cancelled(watch_id, await self.store.current_revision(), reason=grpc_status(exc)[1])
        finally:
            self.watches.pop(watch_id, None)
            await watch.close()

    def _send(self, watch_id: int, batch: WatchBatch, dropped: set[EventType]) -> None:
        events = [event_to_wire(e) for e in batch.events if e.type not in dropped]
        if events or not batch.events:
            self.responses.put_nowait(
                rpc_pb2.WatchResponse(header=header(batch.revision), watch_id=watch_id, events=events)
            )

    async def _cancel(self, watch_id: int) -> None:
        pump = self.pumps.pop(watch_id, None)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        self._cancelled(watch_id, await self.store.current_revision(), reason="")

    async def close(self) -> None:
        for pump in self.pumps.values():
            pump.cancel()
        for pump in self.pumps.values():
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        self.pumps.clear()


class WatchService(rpc_pb2_grpc.WatchServicer):  # type: ignore[misc]
    def __init__(self, store: Backend) -> None:
        self.store = store

    async def Watch(self, requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
        stream = _Stream(self.store)
        reader = asyncio.create_task(self._read(requests, stream))
        try:
            while True:
                response = await stream.responses.get()
                if response is _STREAM_DONE:
                    return
                yield response
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await stream.close()

    @staticmethod
    async def _read(requests: AsyncIterator[Any], stream: _Stream) -> None:
        try:
            async for request in requests:
                await stream.handle(request)
        except StoreError as exc:
            log.warning("watch stream request failed: %s", exc)
        finally:
            stream.responses.put_nowait(_STREAM_DONE)
