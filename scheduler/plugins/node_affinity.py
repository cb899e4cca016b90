"""NodeAffinity: nodeSelector and required node affinity (Filter), preferred terms (Score)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from scheduler.framework.interfaces import ClusterEvent, CycleState, PreFilterResult, default_normalize
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.status import SKIP, Status, unresolvable
from scheduler.labels import node_selector, node_selector_term
from scheduler.objects import Node, Pod, required_node_affinity_matcher
from scheduler.plugins.node_basic import NODE_ADD_OR_UPDATE

REASON_POD = "node(s) didn't match Pod's node affinity/selector"
REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
REASON_CONFLICT = "pod affinity terms conflict"

WeightedTerm = tuple[int, Callable[[Mapping[str, str], str], bool]]


def preferred_terms(terms: Sequence[Mapping[str, Any]]) -> list[WeightedTerm]:
    return [
        (int(t.get("weight", 0)), node_selector_term(t.get("preference") or {}))
        for t in terms
        if t.get("weight")
    ]


class NodeAffinity:
    name = "NodeAffinity"

    def __init__(self, args: Mapping[str, Any]) -> None:
        added = args.get("addedAffinity") or {}
        required = (added.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
            "nodeSelectorTerms"
        )
        self._added_required = node_selector(required) if required is not None else None
        self._added_preferred = preferred_terms(
            added.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
        )

    def pre_filter(self, state: CycleState, pod: Pod) -> tuple[PreFilterResult | None, Status | None]:
        if pod.required_node_affinity is None and not pod.node_selector and self._added_required is None:
            return None, SKIP
        state.data[self.name] = required_node_affinity_matcher(pod)
        if not pod.required_node_affinity:
            return None, None
        names = _named_nodes(pod.required_node_affinity)
        if names is None:
            return None, None
        if not names:
            return None, unresolvable(REASON_CONFLICT)
        return PreFilterResult(frozenset(names)), None

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        node = info.node
        if self._added_required is not None and not self._added_required(node.labels, node.name):
            return unresolvable(REASON_ENFORCED)
        match: Callable[[Node], bool] | None = state.data.get(self.name)
        if match is not None and not match(node):
            return unresolvable(REASON_POD)
        return None

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable:
        return pod.node_affinity_key

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        terms = preferred_terms(pod.preferred_node_affinity) + self._added_preferred
        if not terms:
            return SKIP
        state.data[self.name + "/score"] = terms
        return None

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        terms: list[WeightedTerm] = state.data[self.name + "/score"]
        return [
            sum(weight for weight, match in terms if match(info.node.labels, info.node.name))
            for info in nodes
        ]

    def normalize_score(
        self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo], scores: list[int]
    ) -> None:
        default_normalize(scores, reverse=False)

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (NODE_ADD_OR_UPDATE,)


def _named_nodes(terms: Sequence[Mapping[str, Any]]) -> set[str] | None:
    """Node names the terms are limited to by `metadata.name In` fields; None when a term allows any node."""
    names: set[str] = set()
    for term in terms:
        term_names: set[str] | None = None
        for field in term.get("matchFields") or ():
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = set(field.get("values") or ())
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return names
