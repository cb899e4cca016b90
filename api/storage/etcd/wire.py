"""Conversions between the store's values and etcd's v3 protobuf messages (aetcd's generated modules,
the one copy of the etcd protos registered in this process)."""

from __future__ import annotations

from typing import Any

from aetcd.rpc import kv_pb2, rpc_pb2

from api.storage.errors import InvalidRequest
from api.storage.types import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    DeleteResult,
    Event,
    EventType,
    KeyValue,
    Op,
    OpResult,
    Put,
    PutResult,
    Range,
    RangeResult,
    Txn,
    TxnResult,
)

_RESULTS = {
    CompareResult.EQUAL: rpc_pb2.Compare.EQUAL,
    CompareResult.GREATER: rpc_pb2.Compare.GREATER,
    CompareResult.LESS: rpc_pb2.Compare.LESS,
    CompareResult.NOT_EQUAL: rpc_pb2.Compare.NOT_EQUAL,
}
_TARGETS = {
    CompareTarget.VERSION: (rpc_pb2.Compare.VERSION, "version"),
    CompareTarget.CREATE: (rpc_pb2.Compare.CREATE, "create_revision"),
    CompareTarget.MOD: (rpc_pb2.Compare.MOD, "mod_revision"),
    CompareTarget.VALUE: (rpc_pb2.Compare.VALUE, "value"),
    CompareTarget.LEASE: (rpc_pb2.Compare.LEASE, "lease"),
}
_RESULTS_BACK = {wire: ours for ours, wire in _RESULTS.items()}
_TARGETS_BACK = {wire: (ours, field) for ours, (wire, field) in _TARGETS.items()}


def kv_from_wire(kv: Any) -> KeyValue:
    return KeyValue(
        key=kv.key,
        value=kv.value,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


def kv_to_wire(kv: KeyValue) -> Any:
    return kv_pb2.KeyValue(
        key=kv.key,
        value=kv.value,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


def event_from_wire(event: Any) -> Event:
    prev = kv_from_wire(event.prev_kv) if event.HasField("prev_kv") else None
    kind = EventType.DELETE if event.type == kv_pb2.Event.DELETE else EventType.PUT
    return Event(kind, kv_from_wire(event.kv), prev)


def event_to_wire(event: Event) -> Any:
    kind = kv_pb2.Event.DELETE if event.type is EventType.DELETE else kv_pb2.Event.PUT
    wire = kv_pb2.Event(type=kind, kv=kv_to_wire(event.kv))
    if event.prev_kv is not None:
        wire.prev_kv.CopyFrom(kv_to_wire(event.prev_kv))
    return wire


def compare_to_wire(compare: Compare) -> Any:
    target, field = _TARGETS[compare.target]
    return rpc_pb2.Compare(
        result=_RESULTS[compare.result], target=target, key=compare.key, **{field: compare.operand}
    )


def compare_from_wire(compare: Any) -> Compare:
    if compare.range_end:
        raise InvalidRequest("compares over a key range are not supported; compare one key")
    target, field = _TARGETS_BACK[compare.target]
    return Compare(compare.key, target, _RESULTS_BACK[compare.result], getattr(compare, field))


def range_to_wire(request: Range) -> Any:
    return rpc_pb2.RangeRequest(
        key=request.key,
        range_end=request.range_end,
        revision=request.revision,
        limit=request.limit,
        keys_only=request.keys_only,
        count_only=request.count_only,
    )


def range_from_wire(request: Any) -> Range:
    sorted_otherwise = request.sort_order == rpc_pb2.RangeRequest.DESCEND or (
        request.sort_order == rpc_pb2.RangeRequest.ASCEND and request.sort_target != rpc_pb2.RangeRequest.KEY
    )
    if sorted_otherwise:
        raise InvalidRequest("only ascending key order is supported for ranges")
    revision_bounds = (request.min_mod_revision, request.max_mod_revision)
    if any(revision_bounds) or request.min_create_revision or request.max_create_revision:
        raise InvalidRequest("range filters on mod/create revision are not supported")
    return Range(
        key=request.key,
        range_end=request.range_end,
        revision=request.revision,
        limit=request.limit,
        keys_only=request.keys_only,
        count_only=request.count_only,
    )


def op_to_wire(op: Op) -> Any:
    if isinstance(op, Put):
        return rpc_pb2.RequestOp(
            request_put=rpc_pb2.PutRequest(key=op.key, value=op.value, lease=op.lease, prev_kv=True)
        )
    if isinstance(op, DeleteRange):
        return rpc_pb2.RequestOp(
            request_delete_range=rpc_pb2.DeleteRangeRequest(key=op.key, range_end=op.range_end, prev_kv=True)
        )
    return rpc_pb2.RequestOp(request_range=range_to_wire(op))


def op_from_wire(op: Any) -> Op:
    kind = op.WhichOneof("request")
    if kind == "request_put":
        put = op.request_put
        if put.ignore_value or put.ignore_lease:
            raise InvalidRequest("put with ignore_value or ignore_lease is not supported")
        return Put(put.key, put.value, put.lease)
    if kind == "request_delete_range":
        return DeleteRange(op.request_delete_range.key, op.request_delete_range.range_end)
    if kind == "request_range":
        return range_from_wire(op.request_range)
    raise InvalidRequest("nested transactions are not supported")


def txn_to_wire(txn: Txn) -> Any:
    return rpc_pb2.TxnRequest(
        compare=[compare_to_wire(c) for c in txn.compares],
        success=[op_to_wire(op) for op in txn.success],
        failure=[op_to_wire(op) for op in txn.failure],
    )


def txn_from_wire(request: Any) -> Txn:
    return Txn(
        compares=tuple(compare_from_wire(c) for c in request.compare),
        success=tuple(op_from_wire(op) for op in request.success),
        failure=tuple(op_from_wire(op) for op in request.failure),
    )


def range_result_from_wire(response: Any) -> RangeResult:
    return RangeResult(
        revision=response.header.revision,
        kvs=tuple(kv_from_wire(kv) for kv in response.kvs),
        count=response.count,
        more=response.more,
    )


def _op_result_from_wire(response: Any, revision: int) -> OpResult:
    kind = response.WhichOneof("response")
    if kind == "response_put":
        put = response.response_put
        return PutResult(revision, kv_from_wire(put.prev_kv) if put.HasField("prev_kv") else None)
    if kind == "response_delete_range":
        deleted = response.response_delete_range
        return DeleteResult(revision, deleted.deleted, tuple(kv_from_wire(kv) for kv in deleted.prev_kvs))
    ranged = range_result_from_wire(response.response_range)
    return RangeResult(revision, ranged.kvs, ranged.count, ranged.more)


def txn_result_from_wire(response: Any) -> TxnResult:
    revision = response.header.revision
    return TxnResult(
        succeeded=response.succeeded,
        revision=revision,
        results=tuple(_op_result_from_wire(r, revision) for r in response.responses),
    )


def header(revision: int) -> Any:
    return rpc_pb2.ResponseHeader(cluster_id=CLUSTER_ID, member_id=MEMBER_ID, revision=revision, raft_term=1)


CLUSTER_ID = 0x746B  # "tk"
MEMBER_ID = 0x746B01


def range_result_to_wire(result: RangeResult) -> Any:
    return rpc_pb2.RangeResponse(
        header=header(result.revision),
        kvs=[kv_to_wire(kv) for kv in result.kvs],
        count=result.count,
        more=result.more,
    )


def _op_result_to_wire(result: OpResult, *, want_prev: bool) -> Any:
    if isinstance(result, PutResult):
        put = rpc_pb2.PutResponse(header=header(result.revision))
        if want_prev and result.prev_kv is not None:
            put.prev_kv.CopyFrom(kv_to_wire(result.prev_kv))
        return rpc_pb2.ResponseOp(response_put=put)
    if isinstance(result, DeleteResult):
        prev = [kv_to_wire(kv) for kv in result.prev_kvs] if want_prev else []
        deleted = rpc_pb2.DeleteRangeResponse(
            header=header(result.revision), deleted=result.deleted, prev_kvs=prev
        )
        return rpc_pb2.ResponseOp(response_delete_range=deleted)
    return rpc_pb2.ResponseOp(response_range=range_result_to_wire(result))


def txn_result_to_wire(result: TxnResult, request: Any) -> Any:
    ops = request.success if result.succeeded else request.failure
    responses = [
        _op_result_to_wire(r, want_prev=_wants_prev(op)) for r, op in zip(result.results, ops, strict=True)
    ]
    return rpc_pb2.TxnResponse(
        header=header(result.revision), succeeded=result.succeeded, responses=responses
    )


def _wants_prev(op: Any) -> bool:
    kind = op.WhichOneof("request")
    if kind == "request_put":
        return bool(op.request_put.prev_kv)
    if kind == "request_delete_range":
        return bool(op.request_delete_range.prev_kv)
    return False
