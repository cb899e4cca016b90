"""``EtcdEndpoint``: serves the etcd v3 KV, Watch, Lease and Maintenance.Status services over a store."""

from __future__ import annotations

import grpc
from aetcd.rpc import rpc_pb2_grpc

from api.storage.etcdserver.kv import KVService
from api.storage.etcdserver.lease import LeaseService
from api.storage.etcdserver.maintenance import MaintenanceService
from api.storage.etcdserver.watch import WatchService
from api.storage.protocol import Backend

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class EtcdEndpoint:
    def __init__(self, store: Backend, *, listen: str) -> None:
        self.store = store
        self.listen = listen
        self.port = 0
        self._server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ]
        )
        rpc_pb2_grpc.add_KVServicer_to_server(KVService(store), self._server)
        rpc_pb2_grpc.add_WatchServicer_to_server(WatchService(store), self._server)
        rpc_pb2_grpc.add_LeaseServicer_to_server(LeaseService(store), self._server)
        rpc_pb2_grpc.add_MaintenanceServicer_to_server(MaintenanceService(store), self._server)

    @property
    def address(self) -> str:
        host = self.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        try:
            self.port = self._server.add_insecure_port(self.listen)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {self.listen} (in use, or not an address of this host)") from exc
        await self._server.start()

    async def stop(self, grace: float = 2.0) -> None:
        await self._server.stop(grace)

    async def wait(self) -> None:
        await self._server.wait_for_termination()
