"""PodTopologySpread: maxSkew per topology key (Filter for DoNotSchedule, Score for ScheduleAnyway),
with upstream's system default constraints for pods that belong to a workload."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scheduler.framework.interfaces import (
    MAX_NODE_SCORE,
    ActionType,
    ClusterEvent,
    CycleState,
    Handle,
    PreFilterResult,
    Resource,
)
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.status import SKIP, Status, unresolvable, unschedulable
from scheduler.gomath import go_round
from scheduler.labels import LabelMatcher, label_selector
from scheduler.objects import (
    LABEL_HOSTNAME,
    LABEL_ZONE,
    Node,
    Pod,
    required_node_affinity_matcher,
    untolerated,
)

REASON = "node(s) didn't match pod topology spread constraints"
REASON_MISSING_LABEL = REASON + " (missing required label)"
SYSTEM_DEFAULTS: tuple[Mapping[str, Any], ...] = (
    {"maxSkew": 3, "topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway"},
    {"maxSkew": 5, "topologyKey": LABEL_ZONE, "whenUnsatisfiable": "ScheduleAnyway"},
)
_NO_SCHEDULE = frozenset({"NoSchedule", "NoExecute"})


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: LabelMatcher
    min_domains: int = 1
    honor_affinity: bool = True
    honor_taints: bool = False


def _constraint(raw: Mapping[str, Any], pod: Pod, selector: LabelMatcher | None = None) -> Constraint:
    if selector is None:
        base = dict(raw.get("labelSelector") or {})
        keys = [k for k in raw.get("matchLabelKeys") or () if k in pod.labels]
        if keys:
            expressions = list(base.get("matchExpressions") or ())
            expressions += [{"key": k, "operator": "In", "values": [pod.labels[k]]} for k in keys]
            base["matchExpressions"] = expressions
        selector = label_selector(base if raw.get("labelSelector") is not None or keys else None)
    return Constraint(
        max_skew=int(raw.get("maxSkew", 1)),
        topology_key=raw.get("topologyKey", ""),
        selector=selector,
        min_domains=int(raw.get("minDomains") or 1),
        honor_affinity=(raw.get("nodeAffinityPolicy") or "Honor") == "Honor",
        honor_taints=(raw.get("nodeTaintsPolicy") or "Ignore") == "Honor",
    )


def count_matching(pods: Iterable[Pod], selector: LabelMatcher, namespace: str) -> int:
    return sum(1 for p in pods if p.namespace == namespace and not p.terminating and selector(p.labels))


@dataclass
class FilterState:
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int]
    eligible: Callable[[Node, Constraint], bool]
    minimum: dict[str, int] = field(default_factory=dict)
    domains: dict[str, int] = field(default_factory=dict)

    def refresh(self) -> None:
        self.minimum.clear()
        self.domains.clear()
        for (key, _), count in self.counts.items():
            self.domains[key] = self.domains.get(key, 0) + 1
            self.minimum[key] = min(self.minimum.get(key, count), count)

    def update(self, pod: Pod, other: Pod, info: NodeInfo, delta: int) -> None:
        node = info.node
        if other.namespace != pod.namespace or not all(
            c.topology_key in node.labels for c in self.constraints
        ):
            return
        for c in self.constraints:
            if self.eligible(node, c) and c.selector(other.labels):
                pair = (c.topology_key, node.labels[c.topology_key])
                self.counts[pair] = self.counts.get(pair, 0) + delta
        self.refresh()

    def clone(self) -> FilterState:
        return FilterState(
            self.constraints, dict(self.counts), self.eligible, dict(self.minimum), dict(self.domains)
        )


@dataclass
class ScoreState:
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int]
    weights: list[float]
    ignored: set[str]


class PodTopologySpread:
    name = "PodTopologySpread"

    def __init__(self, args: Mapping[str, Any], handle: Handle) -> None:
        self.handle = handle
        self.system_defaulted = (args.get("defaultingType") or "System") == "System"
        self.default_constraints = (
            SYSTEM_DEFAULTS if self.system_defaulted else tuple(args.get("defaultConstraints") or ())
        )

    def constraints(self, pod: Pod, when: str) -> list[Constraint]:
        if pod.spread_constraints:
            return [_constraint(c, pod) for c in pod.spread_constraints if c.get("whenUnsatisfiable") == when]
        selector = self.handle.workload_selector(pod) if self.default_constraints else None
        if selector is None:
            return []
        return [
            _constraint(c, pod, selector)
            for c in self.default_constraints
            if c.get("whenUnsatisfiable") == when
        ]

    def _eligibility(self, pod: Pod) -> Callable[[Node, Constraint], bool]:
        affinity = required_node_affinity_matcher(pod)

        def eligible(node: Node, constraint: Constraint) -> bool:
            if constraint.honor_affinity and not affinity(node):
                return False
            return not (constraint.honor_taints and untolerated(node.taints, pod.tolerations, _NO_SCHEDULE))

        return eligible

    def pre_filter(self, state: CycleState, pod: Pod) -> tuple[PreFilterResult | None, Status | None]:
        constraints = self.constraints(pod, "DoNotSchedule")
        if not constraints:
            return None, SKIP
        eligible = self._eligibility(pod)
        counts: dict[tuple[str, str], int] = {}
        for info in self.handle.snapshot.node_infos:
            labels = info.node.labels
            if not all(c.topology_key in labels for c in constraints):
                continue
            for c in constraints:
                if eligible(info.node, c):
                    pair = (c.topology_key, labels[c.topology_key])
                    counts[pair] = counts.get(pair, 0) + count_matching(info.pods, c.selector, pod.namespace)
        filter_state = FilterState(constraints, counts, eligible)
        filter_state.refresh()
        state.data[self.name] = filter_state
        return None, None

    def add_pod(self, state: CycleState, pod: Pod, added: Pod, info: NodeInfo) -> None:
        state.data[self.name].update(pod, added, info, 1)

    def remove_pod(self, state: CycleState, pod: Pod, removed: Pod, info: NodeInfo) -> None:
        state.data[self.name].update(pod, removed, info, -1)

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        s: FilterState = state.data[self.name]
        labels = info.node.labels
        for c in s.constraints:
            value = labels.get(c.topology_key)
            if value is None:
                return unresolvable(REASON_MISSING_LABEL)
            minimum = (
                s.minimum.get(c.topology_key, 0) if s.domains.get(c.topology_key, 0) >= c.min_domains else 0
            )
            self_match = 1 if c.selector(pod.labels) else 0
            if s.counts.get((c.topology_key, value), 0) + self_match - minimum > c.max_skew:
                return unschedulable(REASON)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        constraints = self.constraints(pod, "ScheduleAnyway")
        if not constraints:
            return SKIP
        require_all = bool(pod.spread_constraints) or not self.system_defaulted
        counts: dict[tuple[str, str], int] = {}
        sizes = [0] * len(constraints)
        ignored: set[str] = set()
        for info in nodes:
            labels = info.node.labels
            if require_all and not all(c.topology_key in labels for c in constraints):
                ignored.add(info.name)
                continue
            for i, c in enumerate(constraints):
                pair = (c.topology_key, labels.get(c.topology_key, ""))
                if c.topology_key != LABEL_HOSTNAME and pair not in counts:
                    counts[pair] = 0
                    sizes[i] += 1
        weights = [
            math.log((len(nodes) - len(ignored) if c.topology_key == LABEL_HOSTNAME else sizes[i]) + 2)
            for i, c in enumerate(constraints)
        ]
        self._count_all(pod, constraints, counts, require_all)
        state.data[self.name + "/score"] = ScoreState(constraints, counts, weights, ignored)
        return None

    def _count_all(
        self, pod: Pod, constraints: list[Constraint], counts: dict[tuple[str, str], int], require_all: bool
    ) -> None:
        eligible = self._eligibility(pod)
        for info in self.handle.snapshot.node_infos:
            labels = info.node.labels
            if require_all and not all(c.topology_key in labels for c in constraints):
                continue
            for c in constraints:
                pair = (c.topology_key, labels.get(c.topology_key, ""))
                if pair in counts and eligible(info.node, c):
                    counts[pair] += count_matching(info.pods, c.selector, pod.namespace)

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        s: ScoreState = state.data[self.name + "/score"]
        scores = []
        for info in nodes:
            if info.name in s.ignored:
                scores.append(0)
                continue
            total = 0.0
            labels = info.node.labels
            for i, c in enumerate(s.constraints):
                value = labels.get(c.topology_key)
                if value is None:
                    continue
                if c.topology_key == LABEL_HOSTNAME:
                    count = count_matching(info.pods, c.selector, pod.namespace)
                else:
                    count = s.counts.get((c.topology_key, value), 0)
                total += count * s.weights[i] + (c.max_skew - 1)
            scores.append(go_round(total))
        return scores

    def normalize_score(
        self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo], scores: list[int]
    ) -> None:
        s: ScoreState = state.data[self.name + "/score"]
        valid = [score for info, score in zip(nodes, scores, strict=True) if info.name not in s.ignored]
        lowest, highest = min(valid, default=0), max(valid, default=0)
        for i, info in enumerate(nodes):
            if info.name in s.ignored:
                scores[i] = 0
            elif highest == 0:
                scores[i] = MAX_NODE_SCORE
            else:
                scores[i] = MAX_NODE_SCORE * (highest + lowest - scores[i]) // highest

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (
            ClusterEvent(Resource.ASSIGNED_POD, ActionType.ALL),
            ClusterEvent(Resource.NODE, ActionType.ALL),
        )
