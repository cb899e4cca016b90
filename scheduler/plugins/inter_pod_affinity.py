"""InterPodAffinity: required pod (anti-)affinity as Filter; preferred and existing pods' terms as Score."""

from __future__ import annotations

from collections import defaultdict
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
from scheduler.framework.memo import Interner, NodeSums, Row
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.status import SKIP, Status, unresolvable, unschedulable
from scheduler.objects import AffinityTerm, Node, Pod

REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

Pair = tuple[str, str]


@dataclass
class FilterState:
    existing_anti: dict[Pair, int] = field(default_factory=dict)
    affinity: dict[Pair, int] = field(default_factory=dict)
    anti_affinity: dict[Pair, int] = field(default_factory=dict)

    existing_anti_keys: frozenset[str] = frozenset()

    def refresh(self) -> None:
        self.existing_anti_keys = frozenset(key for key, _ in self.existing_anti)

    def clone(self) -> FilterState:
        copy = FilterState(dict(self.existing_anti), dict(self.affinity), dict(self.anti_affinity))
        copy.refresh()
        return copy


def _add(counts: dict[Pair, int], pair: Pair, delta: int) -> None:
    value = counts.get(pair, 0) + delta
    if value:
        counts[pair] = value
    else:
        counts.pop(pair, None)


class InterPodAffinity:
    name = "InterPodAffinity"

    def __init__(self, args: Mapping[str, Any], handle: Handle) -> None:
        self.handle = handle
        self.hard_pod_affinity_weight = int(args.get("hardPodAffinityWeight", 1))
        self._keys = Interner()  # memo keys on NodeInfos
        self._sums = NodeSums()

    def pre_filter(self, state: CycleState, pod: Pod) -> tuple[PreFilterResult | None, Status | None]:
        s = FilterState()
        self._existing_anti_counts(s, pod)
        s.refresh()
        if not s.existing_anti and not pod.required_affinity and not pod.required_anti_affinity:
            return None, SKIP
        if pod.required_affinity or pod.required_anti_affinity:
            self._incoming_counts(s, pod)
        state.data[self.name] = s
        return None, None

    def _memo(self) -> bool:
        """Per-node results are memoised unless namespace labels (which NodeInfos do not hold) matter."""
        return not self.handle.namespace_labels

    def _existing_anti_counts(self, s: FilterState, pod: Pod) -> None:
        key = self._keys.token(("existing", pod.namespace, frozenset(pod.labels.items())))

        def row(info: NodeInfo) -> Row:
            counts: dict[Pair, int] = {}
            for existing in info.pods_with_required_anti_affinity:
                self._count_existing(counts, pod, existing, info.node, 1)
            return tuple(counts.items())

        snapshot = self.handle.snapshot
        s.existing_anti = self._sum(key, lambda: snapshot.with_required_anti_affinity, row)

    def _incoming_counts(self, s: FilterState, pod: Pod) -> None:
        terms = (
            tuple(t.key for t in pod.required_affinity),
            tuple(t.key for t in pod.required_anti_affinity),
        )
        key = self._keys.token(("incoming", terms))

        def row(info: NodeInfo) -> Row:
            part = FilterState()
            for existing in info.pods:
                self._count_incoming(part, pod, existing, info.node, 1)
            tagged = [(("affinity", pair), n) for pair, n in part.affinity.items()]
            tagged += [(("anti", pair), n) for pair, n in part.anti_affinity.items()]
            return tuple(tagged)

        snapshot = self.handle.snapshot
        for (kind, pair), count in self._sum(key, lambda: snapshot.with_pods, row).items():
            (s.affinity if kind == "affinity" else s.anti_affinity)[pair] = count

    def _sum(
        self, key: object, nodes: Callable[[], Iterable[NodeInfo]], row: Callable[[NodeInfo], Row]
    ) -> Any:
        """Sums of per-node rows, kept across cycles unless namespace labels (not in NodeInfos) matter."""
        if self._memo():
            return dict(self._sums.total(key, self.handle.snapshot, nodes, row))
        total: dict[Any, int] = {}
        for info in nodes():
            for item, count in row(info):
                total[item] = total.get(item, 0) + count
        return {item: count for item, count in total.items() if count}

    def _count_existing(
        self, counts: dict[Pair, int], pod: Pod, existing: Pod, node: Node, delta: int
    ) -> None:
        for term in existing.required_anti_affinity:
            value = node.labels.get(term.topology_key)
            if value is not None and term.matches(pod, self.handle.namespace_labels):
                _add(counts, (term.topology_key, value), delta)

    def _count_incoming(self, s: FilterState, pod: Pod, existing: Pod, node: Node, delta: int) -> None:
        labels = node.labels
        if not labels:
            return
        ns_labels = self.handle.namespace_labels
        if pod.required_affinity and all(t.matches(existing, ns_labels) for t in pod.required_affinity):
            for term in pod.required_affinity:
                if term.topology_key in labels:
                    _add(s.affinity, (term.topology_key, labels[term.topology_key]), delta)
        for term in pod.required_anti_affinity:
            if term.topology_key in labels and term.matches(existing, ns_labels):
                _add(s.anti_affinity, (term.topology_key, labels[term.topology_key]), delta)

    def add_pod(self, state: CycleState, pod: Pod, added: Pod, info: NodeInfo) -> None:
        self._update(state, pod, added, info, 1)

    def remove_pod(self, state: CycleState, pod: Pod, removed: Pod, info: NodeInfo) -> None:
        self._update(state, pod, removed, info, -1)

    def _update(self, state: CycleState, pod: Pod, other: Pod, info: NodeInfo, delta: int) -> None:
        s: FilterState = state.data[self.name]
        self._count_existing(s.existing_anti, pod, other, info.node, delta)
        self._count_incoming(s, pod, other, info.node, delta)
        s.refresh()

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        s: FilterState = state.data[self.name]
        labels = info.node.labels
        if not self._satisfies_affinity(s, pod, labels):
            return unresolvable(REASON_AFFINITY)
        for term in pod.required_anti_affinity:
            value = labels.get(term.topology_key)
            if value is not None and s.anti_affinity.get((term.topology_key, value), 0) > 0:
                return unschedulable(REASON_ANTI_AFFINITY)
        for key in s.existing_anti_keys:
            value = labels.get(key)
            if value is not None and s.existing_anti.get((key, value), 0) > 0:
                return unschedulable(REASON_EXISTING_ANTI_AFFINITY)
        return None

    def _satisfies_affinity(self, s: FilterState, pod: Pod, labels: Mapping[str, str]) -> bool:
        if not pod.required_affinity:
            return True
        matched = True
        for term in pod.required_affinity:
            value = labels.get(term.topology_key)
            if value is None or s.affinity.get((term.topology_key, value), 0) <= 0:
                matched = False
                break
        if matched:
            return True
        # The first pod of a group whose terms select itself may go anywhere that has the keys.
        return (
            not s.affinity
            and all(t.matches(pod, self.handle.namespace_labels) for t in pod.required_affinity)
            and all(t.topology_key in labels for t in pod.required_affinity)
        )

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        """Topology scores from the pod's preferred terms over existing pods and from existing pods'
        terms over the pod; all zero (no term matched) skips, which changes no node's total."""
        has_preferred = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
        snapshot = self.handle.snapshot
        candidates = snapshot.with_pods if has_preferred else snapshot.with_affinity
        affinity = tuple((t.key, t.weight) for t in pod.preferred_affinity)
        anti = tuple((t.key, t.weight) for t in pod.preferred_anti_affinity)
        key = self._keys.token(("score", pod.namespace, frozenset(pod.labels.items()), affinity, anti))

        def row(info: NodeInfo) -> Row:
            return tuple(
                ((k, v), delta) for k, v, delta in self._node_contributions(pod, info, has_preferred)
            )

        scores: dict[str, dict[str, int]] = defaultdict(dict)
        for (topology_key, value), delta in self._sum(key, lambda: candidates, row).items():
            scores[topology_key][value] = delta
        if not any(v for values in scores.values() for v in values.values()):
            return SKIP
        state.data[self.name + "/score"] = scores
        return None

    def _node_contributions(
        self, pod: Pod, info: NodeInfo, has_preferred: bool
    ) -> tuple[tuple[str, str, int], ...]:
        if not info.node.labels:
            return ()
        scores: dict[str, dict[str, int]] = defaultdict(dict)
        for existing in info.pods if has_preferred else info.pods_with_affinity:
            self._score_existing(scores, pod, existing, info.node)
        return tuple((k, v, delta) for k, values in scores.items() for v, delta in values.items() if delta)

    def _score_existing(self, scores: dict[str, dict[str, int]], pod: Pod, existing: Pod, node: Node) -> None:
        ns_labels = self.handle.namespace_labels
        _process(scores, pod.preferred_affinity, existing, node, 1, ns_labels, None)
        _process(scores, pod.preferred_anti_affinity, existing, node, -1, ns_labels, None)
        if self.hard_pod_affinity_weight > 0:
            _process(
                scores, existing.required_affinity, pod, node, 1, ns_labels, self.hard_pod_affinity_weight
            )
        _process(scores, existing.preferred_affinity, pod, node, 1, ns_labels, None)
        _process(scores, existing.preferred_anti_affinity, pod, node, -1, ns_labels, None)

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        scores: dict[str, dict[str, int]] = state.data[self.name + "/score"]
        result = []
        for info in nodes:
            labels = info.node.labels
            result.append(sum(values.get(labels[key], 0) for key, values in scores.items() if key in labels))
        return result

    def normalize_score(
        self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo], scores: list[int]
    ) -> None:
        if not state.data[self.name + "/score"]:
            return
        lowest, highest = min(scores, default=0), max(scores, default=0)
        spread = highest - lowest
        for i, score in enumerate(scores):
            scores[i] = int(MAX_NODE_SCORE * ((score - lowest) / spread)) if spread > 0 else 0

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (
            ClusterEvent(Resource.ASSIGNED_POD, ActionType.ALL),
            ClusterEvent(Resource.NODE, ActionType.ADD | ActionType.UPDATE),
        )


def _process(
    scores: dict[str, dict[str, int]],
    terms: Sequence[AffinityTerm],
    target: Pod,
    node: Node,
    sign: int,
    ns_labels: Mapping[str, Mapping[str, str]],
    weight: int | None,
) -> None:
    for term in terms:
        value = node.labels.get(term.topology_key)
        if value is not None and term.matches(target, ns_labels):
            values = scores[term.topology_key]
            values[value] = values.get(value, 0) + sign * (term.weight if weight is None else weight)
