"""NodeInfo: a node with the pods on it and what they use; immutable, so a snapshot can share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scheduler.objects import HostPort, Node, Pod
from scheduler.resources import ZERO, Resources


@dataclass(frozen=True, eq=False)
class NodeInfo:
    node: Node
    pods: tuple[Pod, ...] = ()
    requested: Resources = ZERO
    non_zero_requested: Resources = ZERO
    used_ports: tuple[HostPort, ...] = ()
    pods_with_affinity: tuple[Pod, ...] = ()
    pods_with_required_anti_affinity: tuple[Pod, ...] = ()
    # Results of pure functions of this NodeInfo (it never changes), e.g. a score for a request vector.
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.node.name

    def with_node(self, node: Node) -> NodeInfo:
        return NodeInfo(
            node,
            self.pods,
            self.requested,
            self.non_zero_requested,
            self.used_ports,
            self.pods_with_affinity,
            self.pods_with_required_anti_affinity,
        )

    def with_pod(self, pod: Pod) -> NodeInfo:
        return NodeInfo(
            self.node,
            (*self.pods, pod),
            self.requested.plus(pod.requests),
            self.non_zero_requested.plus(pod.non_zero_requests),
            self.used_ports + pod.host_ports,
            (*self.pods_with_affinity, pod) if pod.has_affinity else self.pods_with_affinity,
            (*self.pods_with_required_anti_affinity, pod)
            if pod.required_anti_affinity
            else self.pods_with_required_anti_affinity,
        )

    def without_pod(self, pod: Pod) -> NodeInfo:
        info = NodeInfo(self.node)
        for kept in self.pods:
            if kept.uid != pod.uid or kept.key != pod.key:
                info = info.with_pod(kept)
        return info


def node_info(node: Node, pods: tuple[Pod, ...] = ()) -> NodeInfo:
    info = NodeInfo(node)
    for pod in pods:
        info = info.with_pod(pod)
    return info
