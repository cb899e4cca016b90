"""Extension points as small protocols, the cycle state, cluster events and the handle plugins get.

A plugin implements the points it needs; the runtime finds them by the protocols. Score plugins
score all feasible nodes in one call (upstream calls them per node in parallel goroutines; one call
per plugin amortises Python's call cost) and return scores in the order of the nodes given."""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from scheduler.cluster import ClusterWriter
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.snapshot import Snapshot
from scheduler.framework.status import Status
from scheduler.labels import LabelMatcher
from scheduler.objects import Pod

MAX_NODE_SCORE = 100


class CycleState:
    """Per-pod, per-cycle data plugins share between their extension points."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()

    def clone(self) -> CycleState:
        copy = CycleState()
        copy.data = {
            key: value.clone() if hasattr(value, "clone") else value for key, value in self.data.items()
        }
        copy.skip_filter = set(self.skip_filter)
        copy.skip_score = set(self.skip_score)
        return copy


class ActionType(enum.Flag):
    ADD = enum.auto()
    DELETE = enum.auto()
    UPDATE = enum.auto()
    ALL = ADD | DELETE | UPDATE


class Resource(enum.Enum):
    POD = "Pod"
    ASSIGNED_POD = "AssignedPod"
    NODE = "Node"
    NAMESPACE = "Namespace"
    WILDCARD = "*"


@dataclass(frozen=True)
class ClusterEvent:
    resource: Resource
    action: ActionType
    label: str = ""

    def covers(self, event: ClusterEvent) -> bool:
        resource_matches = self.resource in (event.resource, Resource.WILDCARD)
        return resource_matches and bool(self.action & event.action)


@dataclass(frozen=True)
class PreFilterResult:
    """The node names a PreFilter plugin narrowed the search to (None: all nodes)."""

    node_names: frozenset[str] | None = None


@dataclass(frozen=True)
class PostFilterResult:
    nominated_node_name: str = ""


class Nominator(Protocol):
    def nominated_pods_for(self, node_name: str) -> Sequence[Pod]: ...

    def has_nominated_pods(self) -> bool: ...


@dataclass
class Handle:
    """What plugins may reach: the snapshot (updated between cycles), nominated pods, the cluster."""

    snapshot: Snapshot
    nominator: Nominator
    cluster: ClusterWriter
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # the selector of the Services/ReplicaSets/StatefulSets a pod belongs to, for default spreading
    workload_selector: Callable[[Pod], LabelMatcher | None] = lambda pod: None
    framework: Any = None


class Plugin(Protocol):
    name: str


@runtime_checkable
class EnqueueExtensions(Protocol):
    def events_to_register(self) -> Sequence[ClusterEvent]: ...


@runtime_checkable
class PreEnqueuePlugin(Protocol):
    name: str

    def pre_enqueue(self, pod: Pod) -> Status | None: ...


@dataclass(frozen=True)
class QueuedPodInfo:
    pod: Pod
    timestamp: float
    initial_attempt_timestamp: float | None = None
    attempts: int = 0
    unschedulable_plugins: frozenset[str] = frozenset()
    gated: bool = False


@runtime_checkable
class QueueSortPlugin(Protocol):
    name: str

    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool: ...


@runtime_checkable
class PreFilterExtensions(Protocol):
    def add_pod(self, state: CycleState, pod: Pod, added: Pod, info: NodeInfo) -> None: ...

    def remove_pod(self, state: CycleState, pod: Pod, removed: Pod, info: NodeInfo) -> None: ...


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: Pod) -> tuple[PreFilterResult | None, Status | None]: ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None: ...


@runtime_checkable
class FilterSignature(Protocol):
    """A Filter plugin whose verdict depends only on the NodeInfo and this value of the pod: the verdict
    is memoised on the (immutable) NodeInfo, so pods that ask the same (replicas) filter at a lookup."""

    def filter_signature(self, state: CycleState, pod: Pod) -> Hashable: ...


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    async def post_filter(
        self, state: CycleState, pod: Pod, statuses: Mapping[str, Status]
    ) -> tuple[PostFilterResult | None, Status]: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]: ...


@runtime_checkable
class ScoreSignature(Protocol):
    """A Score plugin whose raw score depends only on the NodeInfo and this value of the pod (after
    PreScore): raw scores are memoised on the NodeInfo. None: not memoisable for this pod."""

    def score_signature(self, state: CycleState, pod: Pod) -> Hashable | None: ...


@runtime_checkable
class ScoreNormalizer(Protocol):
    def normalize_score(
        self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo], scores: list[int]
    ) -> None: ...


@runtime_checkable
class ReservePlugin(Protocol):
    name: str

    def reserve(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...

    def unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None: ...


@runtime_checkable
class PermitPlugin(Protocol):
    name: str

    def permit(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...


@runtime_checkable
class PreBindPlugin(Protocol):
    name: str

    async def pre_bind(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...


@runtime_checkable
class BindPlugin(Protocol):
    name: str

    async def bind(self, state: CycleState, pod: Pod, node_name: str) -> Status | None: ...


@runtime_checkable
class PostBindPlugin(Protocol):
    name: str

    def post_bind(self, state: CycleState, pod: Pod, node_name: str) -> None: ...


def default_normalize(scores: list[int], reverse: bool) -> None:
    """Upstream's DefaultNormalizeScore: scale to 0-100 by the highest score, optionally reversed."""
    highest = max(scores, default=0)
    if highest == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    for i, score in enumerate(scores):
        scaled = MAX_NODE_SCORE * score // highest
        scores[i] = MAX_NODE_SCORE - scaled if reverse else scaled
