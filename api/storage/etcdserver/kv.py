"""etcd's KV service over a ``Store``."""

from __future__ import annotations

from typing import Any

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from api.storage.errors import InvalidRequest
from api.storage.etcd.wire import (
    header,
    kv_to_wire,
    range_from_wire,
    range_result_to_wire,
    txn_from_wire,
    txn_result_to_wire,
)
from api.storage.etcdserver.errors import answered_as_etcd
from api.storage.protocol import Backend
from api.storage.types import DeleteRange, DeleteResult, Put, PutResult, Txn

Context = grpc.aio.ServicerContext[Any, Any]


class KVService(rpc_pb2_grpc.KVServicer):  # type: ignore[misc]
    def __init__(self, store: Backend) -> None:
        self.store = store

    @answered_as_etcd
    async def Range(self, request: Any, context: Context) -> Any:
        return range_result_to_wire(await self.store.range(range_from_wire(request)))

    @answered_as_etcd
    async def Put(self, request: Any, context: Context) -> Any:
        if request.ignore_value or request.ignore_lease:
            raise InvalidRequest("put with ignore_value or ignore_lease is not supported")
        result = await self.store.txn(Txn(success=(Put(request.key, request.value, request.lease),)))
        put = result.results[0]
        assert isinstance(put, PutResult)
        response = rpc_pb2.PutResponse(header=header(result.revision))
        if request.prev_kv and put.prev_kv is not None:
            response.prev_kv.CopyFrom(kv_to_wire(put.prev_kv))
        return response

    @answered_as_etcd
    async def DeleteRange(self, request: Any, context: Context) -> Any:
        result = await self.store.txn(Txn(success=(DeleteRange(request.key, request.range_end),)))
        deleted = result.results[0]
        assert isinstance(deleted, DeleteResult)
        prev = [kv_to_wire(kv) for kv in deleted.prev_kvs] if request.prev_kv else []
        return rpc_pb2.DeleteRangeResponse(
            header=header(result.revision), deleted=deleted.deleted, prev_kvs=prev
        )

    @answered_as_etcd
    async def Txn(self, request: Any, context: Context) -> Any:
        result = await self.store.txn(txn_from_wire(request))
        return txn_result_to_wire(result, request)

    @answered_as_etcd
    async def Compact(self, request: Any, context: Context) -> Any:
        await self.store.compact(request.revision)
        return rpc_pb2.CompactionResponse(header=header(await self.store.current_revision()))
