"""One profile's plugins per extension point, and the runs of each point as upstream's frameworkImpl."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from scheduler.framework.interfaces import (
    BindPlugin,
    CycleState,
    FilterPlugin,
    FilterSignature,
    PermitPlugin,
    PostBindPlugin,
    PostFilterPlugin,
    PostFilterResult,
    PreBindPlugin,
    PreEnqueuePlugin,
    PreFilterExtensions,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    QueueSortPlugin,
    ReservePlugin,
    ScoreNormalizer,
    ScorePlugin,
    ScoreSignature,
)
from scheduler.framework.memo import Interner
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.status import SKIP, Code, Status, error, is_success, unresolvable
from scheduler.objects import Pod


@dataclass
class Plugins:
    pre_enqueue: list[PreEnqueuePlugin] = field(default_factory=list)
    queue_sort: list[QueueSortPlugin] = field(default_factory=list)
    pre_filter: list[PreFilterPlugin] = field(default_factory=list)
    filter: list[FilterPlugin] = field(default_factory=list)
    post_filter: list[PostFilterPlugin] = field(default_factory=list)
    pre_score: list[PreScorePlugin] = field(default_factory=list)
    score: list[tuple[ScorePlugin, int]] = field(default_factory=list)
    reserve: list[ReservePlugin] = field(default_factory=list)
    permit: list[PermitPlugin] = field(default_factory=list)
    pre_bind: list[PreBindPlugin] = field(default_factory=list)
    bind: list[BindPlugin] = field(default_factory=list)
    post_bind: list[PostBindPlugin] = field(default_factory=list)


class Framework:
    def __init__(
        self, scheduler_name: str, plugins: Plugins, percentage_of_nodes_to_score: int | None
    ) -> None:
        self.scheduler_name = scheduler_name
        self.plugins = plugins
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.instances: dict[str, object] = {}
        self._keys = Interner()
        self._signed = {p.name for p in plugins.filter if isinstance(p, FilterSignature)}
        self._score_signed = {p.name for p, _ in plugins.score if isinstance(p, ScoreSignature)}
        self._normalizers = {p.name for p, _ in plugins.score if isinstance(p, ScoreNormalizer)}
        self._extended = [p for p in plugins.pre_filter if isinstance(p, PreFilterExtensions)]

    def run_pre_enqueue(self, pod: Pod) -> Status | None:
        for plugin in self.plugins.pre_enqueue:
            status = plugin.pre_enqueue(pod)
            if not is_success(status):
                assert status is not None
                return status.by(plugin.name)
        return None

    def run_pre_filter(self, state: CycleState, pod: Pod) -> tuple[frozenset[str] | None, Status | None]:
        """The node names the PreFilter results allow (intersected; None: all) and the first failure."""
        allowed: frozenset[str] | None = None
        for plugin in self.plugins.pre_filter:
            result, status = plugin.pre_filter(state, pod)
            if status is not None and status.code is Code.SKIP:
                state.skip_filter.add(plugin.name)
                continue
            if not is_success(status):
                assert status is not None
                return None, status.by(plugin.name)
            allowed = _narrow(allowed, result)
            if allowed is not None and not allowed:
                return allowed, unresolvable("node(s) didn't satisfy plugin(s) [" + plugin.name + "]").by(
                    plugin.name
                )
        return allowed, None

    def filter_plugins(self, state: CycleState) -> list[FilterPlugin]:
        return [p for p in self.plugins.filter if p.name not in state.skip_filter]

    def filter_plan(self, state: CycleState, pod: Pod) -> FilterPlan:
        """The longest leading run of active Filter plugins with signatures is memoised per node under
        one key; the plugins after it run on every node (keeping upstream's order of verdicts)."""
        active = self.filter_plugins(state)
        key: list[Hashable] = ["filter"]
        for plugin in active:
            if plugin.name not in self._signed:
                break
            key.append(cast(FilterSignature, plugin).filter_signature(state, pod))
        memoised = len(key) - 1
        token = self._keys.token(tuple(key)) if memoised else None
        return FilterPlan(token, active[:memoised], active[memoised:])

    def run_plugins(
        self, plugins: Sequence[FilterPlugin], state: CycleState, pod: Pod, info: NodeInfo
    ) -> Status | None:
        for plugin in plugins:
            status = plugin.filter(state, pod, info)
            if status is not None and status.code is not Code.SUCCESS:
                return status.by(plugin.name)
        return None

    def run_filter(self, state: CycleState, pod: Pod, info: NodeInfo) -> Status | None:
        return self.run_plugins(self.filter_plugins(state), state, pod, info)

    def run_filter_with_nominated(
        self, state: CycleState, pod: Pod, info: NodeInfo, nominated: Sequence[Pod]
    ) -> Status | None:
        """Filters with the higher-or-equal priority pods nominated to the node counted in, then without
        (upstream RunFilterPluginsWithNominatedPods)."""
        added = [p for p in nominated if p.priority >= pod.priority and p.key != pod.key]
        if added:
            with_nominated_state, with_nominated = state.clone(), info
            for other in added:
                with_nominated = with_nominated.with_pod(other)
                self.run_add_pod(with_nominated_state, pod, other, with_nominated)
            status = self.run_filter(with_nominated_state, pod, with_nominated)
            if status is not None:
                return status
        return self.run_filter(state, pod, info)

    def run_add_pod(self, state: CycleState, pod: Pod, added: Pod, info: NodeInfo) -> None:
        for plugin in self._extended:
            if cast(PreFilterPlugin, plugin).name not in state.skip_filter:
                plugin.add_pod(state, pod, added, info)

    def run_remove_pod(self, state: CycleState, pod: Pod, removed: Pod, info: NodeInfo) -> None:
        for plugin in self._extended:
            if cast(PreFilterPlugin, plugin).name not in state.skip_filter:
                plugin.remove_pod(state, pod, removed, info)

    async def run_post_filter(
        self, state: CycleState, pod: Pod, statuses: Mapping[str, Status]
    ) -> tuple[PostFilterResult | None, Status]:
        last: Status = unresolvable()
        for plugin in self.plugins.post_filter:
            result, status = await plugin.post_filter(state, pod, statuses)
            if status.code is Code.SUCCESS:
                return result, status
            if status.code is not Code.UNSCHEDULABLE:
                return result, status.by(plugin.name)
            last = status.by(plugin.name)
        return None, last

    def run_scoring(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        """PreScore, Score, NormalizeScore and weights: each node's total."""
        for pre in self.plugins.pre_score:
            status = pre.pre_score(state, pod, nodes)
            if status is SKIP or (status is not None and status.code is Code.SKIP):
                state.skip_score.add(pre.name)
            elif not is_success(status):
                raise SchedulingError(status.by(pre.name) if status else error("pre-score"))
        active = [(p, w) for p, w in self.plugins.score if p.name not in state.skip_score]
        signed = [(p, w, self._score_signature(state, pod, p)) for p, w in active]
        memoised = [(p, w, sig) for p, w, sig in signed if sig is not None]
        totals = self._memoised_scores(state, pod, nodes, memoised) if memoised else [0] * len(nodes)
        for plugin, weight, signature in signed:
            if signature is None:
                scores = plugin.score(state, pod, nodes)
                self._normalize(state, pod, plugin, nodes, scores)
                totals = [total + score * weight for total, score in zip(totals, scores, strict=True)]
        return totals

    def _score_signature(self, state: CycleState, pod: Pod, plugin: ScorePlugin) -> Hashable | None:
        if plugin.name not in self._score_signed:
            return None
        return cast(ScoreSignature, plugin).score_signature(state, pod)

    def _normalize(
        self, state: CycleState, pod: Pod, plugin: ScorePlugin, nodes: Sequence[NodeInfo], scores: list[int]
    ) -> None:
        if plugin.name in self._normalizers:
            cast(ScoreNormalizer, plugin).normalize_score(state, pod, nodes, scores)

    def _memoised_scores(
        self,
        state: CycleState,
        pod: Pod,
        nodes: Sequence[NodeInfo],
        memoised: list[tuple[ScorePlugin, int, Hashable]],
    ) -> list[int]:
        """One memo row per node: the weighted sum of the plugins without NormalizeScore, then the raw
        score of each plugin with one (normalised here over all nodes, as it needs them all)."""
        plain = [(p, w) for p, w, _ in memoised if p.name not in self._normalizers]
        normalized = [(p, w) for p, w, _ in memoised if p.name in self._normalizers]
        key = self._keys.token(("score", *(sig for _, _, sig in memoised)))
        rows: list[tuple[int, ...] | None] = [info.memo.get(key) for info in nodes]
        for i, row in enumerate(rows):
            if row is None:
                one = (nodes[i],)
                fused = sum(p.score(state, pod, one)[0] * w for p, w in plain)
                rows[i] = nodes[i].memo[key] = (fused, *(p.score(state, pod, one)[0] for p, _ in normalized))
        filled = cast(list[tuple[int, ...]], rows)
        if not normalized:
            return [row[0] for row in filled]
        columns = list(zip(*filled, strict=True))
        totals = list(columns[0])
        for i, (plugin, weight) in enumerate(normalized, start=1):
            scores = list(columns[i])
            self._normalize(state, pod, plugin, nodes, scores)
            totals = [total + score * weight for total, score in zip(totals, scores, strict=True)]
        return totals

    def run_reserve(self, state: CycleState, pod: Pod, node_name: str) -> Status | None:
        for plugin in self.plugins.reserve:
            status = plugin.reserve(state, pod, node_name)
            if not is_success(status):
                return status.by(plugin.name) if status else None
        return None

    def run_unreserve(self, state: CycleState, pod: Pod, node_name: str) -> None:
        for plugin in reversed(self.plugins.reserve):
            plugin.unreserve(state, pod, node_name)

    def run_permit(self, state: CycleState, pod: Pod, node_name: str) -> Status | None:
        for plugin in self.plugins.permit:
            status = plugin.permit(state, pod, node_name)
            if not is_success(status):
                return status.by(plugin.name) if status else None
        return None

    async def run_binding(self, state: CycleState, pod: Pod, node_name: str) -> Status | None:
        """PreBind then the first Bind plugin that does not skip; PostBind after success."""
        for pre in self.plugins.pre_bind:
            status = await pre.pre_bind(state, pod, node_name)
            if not is_success(status):
                return status.by(pre.name) if status else None
        for binder in self.plugins.bind:
            status = await binder.bind(state, pod, node_name)
            if status is not None and status.code is Code.SKIP:
                continue
            if not is_success(status):
                return status.by(binder.name) if status else None
            break
        for post in self.plugins.post_bind:
            post.post_bind(state, pod, node_name)
        return None


@dataclass(frozen=True)
class FilterPlan:
    memo_key: object | None
    memoised: list[FilterPlugin]
    direct: list[FilterPlugin]


class SchedulingError(Exception):
    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status


def _narrow(allowed: frozenset[str] | None, result: PreFilterResult | None) -> frozenset[str] | None:
    if result is None or result.node_names is None:
        return allowed
    return result.node_names if allowed is None else allowed & result.node_names
