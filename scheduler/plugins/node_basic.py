"""NodeUnschedulable, NodeName, TaintToleration and NodePorts."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from scheduler.framework.interfaces import (
    ActionType,
    ClusterEvent,
    CycleState,
    PreFilterResult,
    Resource,
    default_normalize,
)
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.status import SKIP, Status, unresolvable, unschedulable
from scheduler.objects import Pod, Taint, Toleration, untolerated

UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
NODE_ADD = ClusterEvent(Resource.NODE, ActionType.ADD)
NODE_ADD_OR_UPDATE = ClusterEvent(Resource.NODE, ActionType.ADD | ActionType.UPDATE)
POD_DELETE = ClusterEvent(Resource.ASSIGNED_POD, ActionType.DELETE)
_NO_SCHEDULE = frozenset({"NoSchedule", "NoExecute"})


class NodeUnschedulable:
    name = "NodeUnschedulable"
    REASON = "node(s) were unschedulable"

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        if not info.node.unschedulable:
            return None
        if any(t.tolerates(UNSCHEDULABLE_TAINT) for t in pod.tolerations):
            return None
        return unresolvable(self.REASON)

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable:
        return pod.tolerations

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (NODE_ADD_OR_UPDATE,)


class NodeName:
    name = "NodeName"
    REASON = "node(s) didn't match the requested node name"

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        if not pod.node_name or pod.node_name == info.node.name:
            return None
        return unresolvable(self.REASON)

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable:
        return pod.node_name

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (NODE_ADD,)


class TaintToleration:
    name = "TaintToleration"

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        taints = info.node.taints
        if not taints:
            return None
        taint = untolerated(taints, pod.tolerations, _NO_SCHEDULE)
        if taint is None:
            return None
        return unresolvable(f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}")

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable:
        return pod.tolerations

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        state.data[self.name] = tuple(t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule"))
        return None

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        tolerations: tuple[Toleration, ...] = state.data[self.name]
        return [
            _intolerable_prefer_no_schedule(taints, tolerations) if (taints := info.node.taints) else 0
            for info in nodes
        ]

    def score_signature(self, state: CycleState, pod: Pod) -> Hashable | None:
        tolerations: tuple[Toleration, ...] = state.data[self.name]
        return tolerations

    def normalize_score(
        self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo], scores: list[int]
    ) -> None:
        default_normalize(scores, reverse=True)

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (NODE_ADD_OR_UPDATE,)


def _intolerable_prefer_no_schedule(taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...]) -> int:
    if not taints:
        return 0
    return sum(
        1
        for taint in taints
        if taint.effect == "PreferNoSchedule" and not any(t.tolerates(taint) for t in tolerations)
    )


class NodePorts:
    name = "NodePorts"
    REASON = "node(s) didn't have free ports for the requested pod ports"

    def pre_filter(self, state: CycleState, pod: Pod) -> tuple[PreFilterResult | None, Status | None]:
        return None, (None if pod.host_ports else SKIP)

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        used = info.used_ports
        for wanted in pod.host_ports:
            if any(wanted.conflicts(port) for port in used):
                return unschedulable(self.REASON)
        return None

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable:
        return pod.host_ports

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (POD_DELETE, NODE_ADD)
