"""The kubelet's Node: registered once, its status posted when it changes and at least every report period.

Conditions are worded as the upstream kubelet words them; the heartbeat times alone changing is no
change (the Lease is the heartbeat), so an idle node writes its status once per report period.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.client.clock import Clock
from api.client.errors import AlreadyExists, ApiError, ApiUnreachable
from api.client.leaderelection import micro_time
from api.client.protocol import Api
from api.client.resources import NODES
from api.client.types import Obj, PatchType
from cri.domain.runtime import RuntimeStatus
from kubelet.node_info import NodeFacts

log = logging.getLogger(__name__)
Json = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


PRESSURE_CONDITIONS = (
    Condition(
        type="MemoryPressure",
        status="False",
        reason="KubeletHasSufficientMemory",
        message="kubelet has sufficient memory available",
    ),
    Condition(
        type="DiskPressure",
        status="False",
        reason="KubeletHasNoDiskPressure",
        message="kubelet has no disk pressure",
    ),
    Condition(
        type="PIDPressure",
        status="False",
        reason="KubeletHasSufficientPID",
        message="kubelet has sufficient PID available",
    ),
)


def runtime_errors(status: RuntimeStatus | None) -> list[str]:
    """Why the runtime is not ready, as the kubelet's runtime state words it; empty when ready."""
    if status is None:
        return ["container runtime is down"]
    found = {c.type: c for c in status.conditions}
    errors = []
    for kind, label in (("RuntimeReady", "container runtime"), ("NetworkReady", "container runtime network")):
        condition = found.get(kind)
        if condition is None or not condition.status:
            reason, message = (condition.reason, condition.message) if condition else ("", "")
            errors.append(f"{label} not ready: {kind}=false reason:{reason} message:{message}")
    return errors


def ready_condition(status: RuntimeStatus | None) -> Condition:
    errors = runtime_errors(status)
    if errors:
        return Condition(type="Ready", status="False", reason="KubeletNotReady", message=",".join(errors))
    return Condition(
        type="Ready", status="True", reason="KubeletReady", message="kubelet is posting ready status"
    )


def conditions_json(
    conditions: Sequence[Condition], previous: Sequence[Mapping[str, Any]], now: str
) -> list[Json]:
    """Conditions with heartbeat ``now``; a condition keeps its transition time until its status flips."""
    before = {str(c.get("type")): c for c in previous}
    result = []
    for condition in conditions:
        old = before.get(condition.type)
        changed = old is None or old.get("status") != condition.status
        result.append(
            {
                "type": condition.type,
                "status": condition.status,
                "lastHeartbeatTime": now,
                "lastTransitionTime": now if changed or old is None else old.get("lastTransitionTime", now),
                "reason": condition.reason,
                "message": condition.message,
            }
        )
    return result


def node_object(facts: NodeFacts) -> Obj:
    """The Node as the kubelet registers it: identity, labels, taints and resources."""
    spec: Json = {"taints": [dict(t) for t in facts.taints]} if facts.taints else {}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": facts.name,
            "labels": dict(facts.labels),
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": spec,
        "status": static_status(facts),
    }


def static_status(facts: NodeFacts) -> Json:
    return {
        "addresses": facts.addresses(),
        "capacity": dict(facts.capacity),
        "allocatable": dict(facts.allocatable),
        "nodeInfo": dict(facts.info),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": facts.port}},
    }


def _without_heartbeats(status: Mapping[str, Any]) -> Json:
    conditions = [
        {k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in status.get("conditions") or ()
    ]
    return {**status, "conditions": conditions}


class NodeStatusReporter:
    """Registers the Node, then posts its status every ``update_s`` when it changed, every ``report_s``
    regardless. ``runtime_status`` is the CRI Status (``None`` when the runtime does not answer)."""

    def __init__(
        self,
        api: Api,
        facts: NodeFacts,
        *,
        runtime_status: Callable[[], Awaitable[RuntimeStatus | None]],
        clock: Clock,
        update_s: float,
        report_s: float,
    ) -> None:
        self.api = api
        self.facts = facts
        self.runtime_status = runtime_status
        self.clock = clock
        self.update_s = update_s
        self.report_s = report_s
        self.node: Obj = {}
        self._posted: Json | None = None
        self._posted_at = 0.0

    async def register(self) -> Obj:
        """Creates the Node, or adopts the one of the same name a previous run registered (its uid,
        hence its Lease's owner reference, stay the same) and brings its labels up to date."""
        wanted = node_object(self.facts)
        try:
            self.node = await self.api.create(NODES, wanted)
            log.info("registered node %s", self.facts.name)
        except AlreadyExists:
            patch = {"metadata": {"labels": wanted["metadata"]["labels"]}}
            self.node = await self.api.patch(NODES, self.facts.name, patch, patch_type=PatchType.MERGE)
            log.info("node %s already registered: adopted", self.facts.name)
        return self.node

    async def run(self) -> None:
        while True:
            try:
                await self.sync()
            except (ApiError, ApiUnreachable) as error:
                log.warning("updating node %s status: %s", self.facts.name, error)
            await self.clock.sleep(self.update_s)

    async def sync(self) -> bool:
        """Posts the status if it changed or the report period passed; whether it posted."""
        conditions = [ready_condition(await self.runtime_status()), *PRESSURE_CONDITIONS]
        previous = (self._posted or self.node.get("status") or {}).get("conditions") or ()
        status = {
            **static_status(self.facts),
            "conditions": conditions_json(conditions, previous, micro_time(self.clock.wall())),
        }
        due = self.clock.now() - self._posted_at >= self.report_s
        if (
            self._posted is not None
            and not due
            and _without_heartbeats(status) == _without_heartbeats(self._posted)
        ):
            return False
        self.node = await self.api.patch(
            NODES, self.facts.name, {"status": status}, patch_type=PatchType.MERGE, subresource="status"
        )
        self._posted, self._posted_at = status, self.clock.now()
        return True
