"""The node's heartbeat: its Lease in kube-node-lease, renewed every quarter of its duration."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from api.client.clock import Clock
from api.client.errors import ApiError, ApiUnreachable, NotFound
from api.client.leaderelection import micro_time
from api.client.protocol import Api
from api.client.resources import LEASES
from api.client.types import Obj

log = logging.getLogger(__name__)
NODE_LEASE_NAMESPACE = "kube-node-lease"


class NodeLease:
    def __init__(
        self, api: Api, node: Mapping[str, Any], *, clock: Clock, duration_s: int, renew_s: float
    ) -> None:
        self.api = api
        self.node_name = str(node["metadata"]["name"])
        self.node_uid = str(node["metadata"].get("uid", ""))
        self.clock = clock
        self.duration_s = duration_s
        self.renew_s = renew_s

    async def run(self) -> None:
        while True:
            try:
                await self.renew()
            except (ApiError, ApiUnreachable) as error:
                log.warning("renewing lease of node %s: %s", self.node_name, error)
            await self.clock.sleep(self.renew_s)

    async def renew(self) -> Obj:
        try:
            lease = await self.api.get(LEASES, self.node_name, namespace=NODE_LEASE_NAMESPACE)
        except NotFound:
            return await self.api.create(LEASES, self._lease(), namespace=NODE_LEASE_NAMESPACE)
        spec = {**(lease.get("spec") or {}), **self._spec()}
        metadata = {**lease["metadata"], "ownerReferences": self._owners()}
        return await self.api.update(LEASES, {**lease, "metadata": metadata, "spec": spec})

    def _spec(self) -> Obj:
        return {
            "holderIdentity": self.node_name,
            "leaseDurationSeconds": self.duration_s,
            "renewTime": micro_time(self.clock.wall()),
        }

    def _owners(self) -> list[Obj]:
        return [{"apiVersion": "v1", "kind": "Node", "name": self.node_name, "uid": self.node_uid}]

    def _lease(self) -> Obj:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.node_name,
                "namespace": NODE_LEASE_NAMESPACE,
                "ownerReferences": self._owners(),
            },
            "spec": self._spec(),
        }
