"""DefaultBinder: binds through the cluster's Binder (pods/binding against the apiserver)."""

from __future__ import annotations

from scheduler.cluster import Binder, ClusterError
from scheduler.framework.interfaces import CycleState
from scheduler.framework.status import Status, error
from scheduler.objects import Pod


class DefaultBinder:
    name = "DefaultBinder"

    def __init__(self, binder: Binder) -> None:
        self.binder = binder

    async def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status | None:
        try:
            await self.binder.bind(pod, node_name)
        except ClusterError as exc:
            return error(str(exc))
        return None
