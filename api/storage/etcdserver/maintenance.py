"""etcd's Maintenance.Status (what ``etcdctl endpoint status`` asks); the other RPCs stay unimplemented."""

from __future__ import annotations

from typing import Any

import grpc
from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

from api.storage.etcd.wire import MEMBER_ID, header
from api.storage.etcdserver.errors import answered_as_etcd
from api.storage.protocol import Backend

Context = grpc.aio.ServicerContext[Any, Any]
ETCD_API_VERSION = "3.4.0"


class MaintenanceService(rpc_pb2_grpc.MaintenanceServicer):  # type: ignore[misc]
    def __init__(self, store: Backend) -> None:
        self.store = store

    @answered_as_etcd
    async def Status(self, request: Any, context: Context) -> Any:
        status = await self.store.status()
        return rpc_pb2.StatusResponse(
            header=header(status.revision),
            version=ETCD_API_VERSION,
            dbSize=status.db_size,
            dbSizeInUse=status.db_size,
            leader=MEMBER_ID,
            raftIndex=status.revision,
            raftTerm=1,
            raftAppliedIndex=status.revision,
        )
