"""NodeResourcesFit (Filter and LeastAllocated / MostAllocated / RequestedToCapacityRatio scoring) and
NodeResourcesBalancedAllocation, with upstream's formulas (noderesources/*.go)."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from scheduler.framework.interfaces import MAX_NODE_SCORE, ClusterEvent, CycleState, PreFilterResult
from scheduler.framework.memo import Interner
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.status import Status, unschedulable
from scheduler.gomath import go_div, go_round
from scheduler.objects import Pod
from scheduler.plugins.node_basic import NODE_ADD_OR_UPDATE, POD_DELETE
from scheduler.resources import CPU, EPHEMERAL_STORAGE, MEMORY, Resources

MAX_CUSTOM_PRIORITY_SCORE = 10
MAX_UTILIZATION = 100
DEFAULT_RESOURCES: tuple[tuple[str, int], ...] = ((CPU, 1), (MEMORY, 1))
Scorer = Callable[[list[int], list[int], Sequence[int]], int]


def least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


def weighted_scorer(per_resource: Callable[[int, int], int]) -> Scorer:
    def score(requested: list[int], allocatable: list[int], weights: Sequence[int]) -> int:
        total = weight_sum = 0
        for req, alloc, weight in zip(requested, allocatable, weights, strict=True):
            if alloc == 0:
                continue
            total += per_resource(req, alloc) * weight
            weight_sum += weight
        return total // weight_sum if weight_sum else 0

    return score


def broken_linear(shape: Sequence[tuple[int, int]]) -> Callable[[int], int]:
    """Upstream's BuildBrokenLinearFunction over (utilization, score) points."""

    def function(p: int) -> int:
        for i, (utilization, score) in enumerate(shape):
            if p <= utilization:
                if i == 0:
                    return score
                prev_u, prev_s = shape[i - 1]
                return prev_s + go_div((score - prev_s) * (p - prev_u), utilization - prev_u)
        return shape[-1][1]

    return function


def requested_to_capacity_ratio(shape: Sequence[tuple[int, int]]) -> Scorer:
    raw = broken_linear([(u, s * (MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE)) for u, s in shape])

    def score(requested: list[int], allocatable: list[int], weights: Sequence[int]) -> int:
        total = weight_sum = 0
        for req, alloc, weight in zip(requested, allocatable, weights, strict=True):
            if alloc == 0:
                continue
            value = raw(MAX_UTILIZATION) if req > alloc else raw(req * MAX_UTILIZATION // alloc)
            if value > 0:
                total += value * weight
                weight_sum += weight
        return go_round(total / weight_sum) if weight_sum else 0

    return score


def balanced(requested: list[int], allocatable: list[int], weights: Sequence[int]) -> int:
    fractions = [min(req / alloc, 1.0) for req, alloc in zip(requested, allocatable, strict=True) if alloc]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class AllocationScorer:
    """Upstream's resourceAllocationScorer: requested (with the pod) against allocatable per resource."""

    def __init__(self, resources: Sequence[tuple[str, int]], scorer: Scorer, use_requested: bool) -> None:
        self.names = [name for name, _ in resources]
        self.weights = [weight for _, weight in resources]
        self.scorer = scorer
        self.use_requested = use_requested
        self._keys = Interner()

    def pod_requests(self, pod: Pod) -> list[int]:
        requests = pod.requests if self.use_requested else pod.non_zero_requests
        return [requests.get(name) for name in self.names]

    def scores(self, pod_requests: list[int], nodes: Sequence[NodeInfo]) -> list[int]:
        """Memoised on each (immutable) NodeInfo by request vector: pods of one workload ask the same."""
        key = self._keys.token(tuple(pod_requests))
        scores = []
        for info in nodes:
            memo = info.memo
            score = memo.get(key)
            if score is None:
                score = memo[key] = self.score(pod_requests, info)
            scores.append(score)
        return scores

    def score(self, pod_requests: list[int], info: NodeInfo) -> int:
        allocatable, requested = [0] * len(self.names), [0] * len(self.names)
        node_alloc = info.node.allocatable
        in_use = info.requested if self.use_requested else info.non_zero_requested
        for i, name in enumerate(self.names):
            wanted = pod_requests[i]
            if name == CPU:
                alloc, used = node_alloc.milli_cpu, in_use.milli_cpu
            elif name == MEMORY:
                alloc, used = node_alloc.memory, in_use.memory
            elif name == EPHEMERAL_STORAGE:
                alloc, used = node_alloc.ephemeral_storage, info.requested.ephemeral_storage
            elif wanted == 0 or name not in node_alloc.scalar:
                continue
            else:
                alloc, used = node_alloc.scalar[name], info.requested.scalar.get(name, 0)
            allocatable[i], requested[i] = alloc, used + wanted
        return self.scorer(requested, allocatable, self.weights)


def resource_specs(args: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    resources = args.get("resources")
    if not resources:
        return DEFAULT_RESOURCES
    return tuple((r["name"], int(r.get("weight") or 1)) for r in resources)


def scorer_from_strategy(strategy: Mapping[str, Any]) -> AllocationScorer:
    kind = strategy.get("type") or "LeastAllocated"
    resources = resource_specs(strategy)
    if kind == "MostAllocated":
        return AllocationScorer(resources, weighted_scorer(most_requested), use_requested=False)
    if kind == "RequestedToCapacityRatio":
        shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape") or ()
        points = [(int(p["utilization"]), int(p["score"])) for p in shape]
        return AllocationScorer(resources, requested_to_capacity_ratio(points), use_requested=False)
    return AllocationScorer(resources, weighted_scorer(least_requested), use_requested=False)


def insufficient(pod_requests: Resources, info: NodeInfo, ignored: frozenset[str]) -> list[str]:
    """Upstream's fitsRequest reasons, in its order."""
    reasons = []
    node = info.node
    if len(info.pods) + 1 > node.allowed_pods:
        reasons.append("Too many pods")
    if pod_requests.is_zero():
        return reasons
    alloc, used = node.allocatable, info.requested
    if 0 < pod_requests.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if 0 < pod_requests.memory > alloc.memory - used.memory:
        reasons.append("Insufficient memory")
    if 0 < pod_requests.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        reasons.append("Insufficient ephemeral-storage")
    for name, quantity in pod_requests.scalar.items():
        if (
            quantity
            and name not in ignored
            and quantity > alloc.scalar.get(name, 0) - used.scalar.get(name, 0)
        ):
            reasons.append(f"Insufficient {name}")
    return reasons


class NodeResourcesFit:
    name = "NodeResourcesFit"

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.scorer = scorer_from_strategy(args.get("scoringStrategy") or {})
        self.ignored = frozenset(args.get("ignoredResources") or ())
        self.ignored_groups = tuple(f"{g}/" for g in args.get("ignoredResourceGroups") or ())

    def pre_filter(self, state: CycleState, pod: Pod) -> tuple[PreFilterResult | None, Status | None]:
        requests = pod.requests
        if self.ignored_groups and requests.scalar:
            ignored = {n for n in requests.scalar if n.startswith(self.ignored_groups)}
            requests = Resources(
                requests.milli_cpu,
                requests.memory,
                requests.ephemeral_storage,
                {n: v for n, v in requests.scalar.items() if n not in ignored},
            )
        state.data[self.name] = requests
        return None, None

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        requests: Resources = state.data[self.name]
        node, used = info.node, info.requested
        alloc = node.allocatable
        if (
            len(info.pods) < node.allowed_pods
            and requests.milli_cpu <= alloc.milli_cpu - used.milli_cpu
            and requests.memory <= alloc.memory - used.memory
            and requests.ephemeral_storage <= alloc.ephemeral_storage - used.ephemeral_storage
            and not requests.scalar
        ):
            return None
        reasons = insufficient(requests, info, self.ignored)
        return unschedulable(*reasons) if reasons else None

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable:
        requests: Resources = state.data[self.name]
        scalar = tuple(sorted(requests.scalar.items()))
        return (requests.milli_cpu, requests.memory, requests.ephemeral_storage, scalar)

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        state.data[self.name + "/score"] = self.scorer.pod_requests(pod)
        return None

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        return self.scorer.scores(state.data[self.name + "/score"], nodes)

    def score_signature(self, state: CycleState, pod: Pod) -> Hashable | None:
        return tuple(state.data[self.name + "/score"])

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (POD_DELETE, NODE_ADD_OR_UPDATE)


class NodeResourcesBalancedAllocation:
    name = "NodeResourcesBalancedAllocation"

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.scorer = AllocationScorer(resource_specs(args), balanced, use_requested=True)

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        state.data[self.name] = self.scorer.pod_requests(pod)
        return None

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        return self.scorer.scores(state.data[self.name], nodes)

    def score_signature(self, state: CycleState, pod: Pod) -> Hashable | None:
        return tuple(state.data[self.name])
