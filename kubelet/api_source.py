"""Pods bound to this node, from the apiserver: one informer with ``spec.nodeName=<node>``.

A pod's typed object is rebuilt only when its metadata or spec changed: the kubelet's own status
writes come back through the watch and must not wake the pod's worker again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from api.client.clock import Clock
from api.client.informer import EventHandler, Informer
from api.client.protocol import Api
from api.client.resources import PODS
from api.client.types import Obj, Selectors
from api.model.core_v1 import Pod

_VOLATILE_METADATA = ("resourceVersion", "managedFields")


def _desired_state(obj: Mapping[str, Any]) -> str:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    return json.dumps([metadata, obj.get("spec")], sort_keys=True)


class ApiPodSource:
    def __init__(
        self,
        api: Api,
        *,
        node_name: str,
        on_update: Callable[[Mapping[str, Pod]], None],
        clock: Clock,
    ) -> None:
        self.on_update = on_update
        self.informer = Informer(
            api, PODS, selectors=Selectors(fields=f"spec.nodeName={node_name}"), clock=clock
        )
        self.informer.add_handler(
            EventHandler(
                on_add=self._upsert, on_update=lambda _, new: self._upsert(new), on_delete=self._gone
            )
        )
        self._pods: dict[str, tuple[str, Pod]] = {}

    def owns(self, uid: str) -> bool:
        return uid in self._pods

    async def run(self) -> None:
        """Follows the pods until cancelled; the first update is the complete list."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.informer.run(), name="pod-informer")
            await self.informer.wait_synced()
            self._publish()

    def _upsert(self, obj: Obj) -> None:
        uid = str(obj["metadata"].get("uid", ""))
        state = _desired_state(obj)
        known = self._pods.get(uid)
        if known is not None and known[0] == state:
            return
        self._pods[uid] = (state, Pod.from_dict(obj))
        self._publish()

    def _gone(self, obj: Obj) -> None:
        if self._pods.pop(str(obj["metadata"].get("uid", "")), None) is not None:
            self._publish()

    def _publish(self) -> None:
        if self.informer.has_synced:
            self.on_update({uid: pod for uid, (_, pod) in self._pods.items()})
