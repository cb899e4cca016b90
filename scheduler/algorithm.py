"""One pod's placement: filter a sample of nodes, score the feasible ones, pick the best (schedule_one.go)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.framework.interfaces import CycleState, Nominator
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.runtime import FilterPlan, Framework
from scheduler.framework.snapshot import Snapshot
from scheduler.framework.status import Code, Status
from scheduler.objects import Pod

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_NODES_AVAILABLE = "no nodes available to schedule pods"
_UNKNOWN = Status(Code.SKIP, ("not yet filtered",))


def num_feasible_nodes_to_find(percentage: int | None, num_all_nodes: int) -> int:
    """Upstream's adaptive sample: all nodes under 100; else 50 - n/125 percent (at least 5 %),
    and at least 100 nodes."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if not percentage:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class Diagnosis:
    node_statuses: dict[str, Status] = field(default_factory=dict)
    pre_filter_message: str = ""
    post_filter_message: str = ""
    unschedulable_plugins: set[str] = field(default_factory=set)


@dataclass
class FitError(Exception):
    pod: Pod
    num_all_nodes: int
    diagnosis: Diagnosis

    def __str__(self) -> str:
        return fit_error_message(self.num_all_nodes, self.diagnosis)


def fit_error_message(num_all_nodes: int, diagnosis: Diagnosis) -> str:
    """`0/3 nodes are available: 1 node(s) had untolerated taint {a: b}, 2 Insufficient cpu.`
    and the PostFilter (preemption) message after it."""
    message = f"0/{num_all_nodes} nodes are available:"
    if diagnosis.pre_filter_message:
        message += f" {diagnosis.pre_filter_message}."
    else:
        histogram = reason_histogram(diagnosis.node_statuses.values())
        if histogram:
            message += f" {histogram}."
    if diagnosis.post_filter_message:
        message += f" {diagnosis.post_filter_message}"
    return message


def reason_histogram(statuses: Iterable[Status]) -> str:
    counts: Counter[str] = Counter()
    for status in statuses:
        counts.update(status.reasons)
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))


@dataclass(frozen=True)
class ScheduleResult:
    node_name: str
    evaluated_nodes: int
    feasible_nodes: int


class Algorithm:
    """The serial part of a scheduling cycle; keeps the rotating start index between cycles."""

    def __init__(self, snapshot: Snapshot, nominator: Nominator, rng: random.Random | None = None) -> None:
        self.snapshot = snapshot
        self.nominator = nominator
        self.rng = rng or random.Random()
        self.next_start_node_index = 0

    def schedule(self, framework: Framework, state: CycleState, pod: Pod) -> ScheduleResult:
        if not len(self.snapshot):
            raise NoNodesAvailableError(NO_NODES_AVAILABLE)
        feasible, diagnosis = self.find_nodes_that_fit(framework, state, pod)
        if not feasible:
            raise FitError(pod, len(self.snapshot), diagnosis)
        evaluated = len(feasible) + len(diagnosis.node_statuses)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, evaluated, 1)
        totals = framework.run_scoring(state, pod, feasible)
        return ScheduleResult(self.select_host(feasible, totals), evaluated, len(feasible))

    def find_nodes_that_fit(
        self, framework: Framework, state: CycleState, pod: Pod
    ) -> tuple[list[NodeInfo], Diagnosis]:
        diagnosis = Diagnosis()
        allowed, status = framework.run_pre_filter(state, pod)
        all_nodes = self.snapshot.node_infos
        if status is not None:
            diagnosis.node_statuses = {info.name: status for info in all_nodes}
            diagnosis.pre_filter_message = status.message
            diagnosis.unschedulable_plugins.add(status.plugin)
            return [], diagnosis
        if pod.nominated_node_name:
            nominated = self._evaluate_nominated(framework, state, pod)
            if nominated is not None:
                return [nominated], diagnosis
        nodes = all_nodes if allowed is None else [i for i in all_nodes if i.name in allowed]
        feasible = self._find_passing(framework, state, pod, nodes, diagnosis)
        return feasible, diagnosis

    def _evaluate_nominated(self, framework: Framework, state: CycleState, pod: Pod) -> NodeInfo | None:
        info = self.snapshot.get(pod.nominated_node_name)
        if info is None:
            return None
        nominated = self.nominator.nominated_pods_for(info.name)
        status = framework.run_filter_with_nominated(state, pod, info, nominated)
        return info if status is None else None

    def _find_passing(
        self,
        framework: Framework,
        state: CycleState,
        pod: Pod,
        nodes: Sequence[NodeInfo],
        diagnosis: Diagnosis,
    ) -> list[NodeInfo]:
        count = len(nodes)
        if not count:
            return []
        wanted = num_feasible_nodes_to_find(framework.percentage_of_nodes_to_score, count)
        start = self.next_start_node_index % count
        plan = framework.filter_plan(state, pod)
        rotated = [*nodes[start:], *nodes[:start]]
        if plan.memo_key is not None and not plan.direct and not self.nominator.has_nominated_pods():
            feasible, processed = self._memoised_pass(rotated, wanted, plan, framework, state, pod, diagnosis)
        else:
            feasible, processed = self._pass(rotated, wanted, plan, framework, state, pod, diagnosis)
        self.next_start_node_index = (self.next_start_node_index + processed) % len(self.snapshot)
        return feasible

    def _pass(
        self,
        nodes: list[NodeInfo],
        wanted: int,
        plan: FilterPlan,
        framework: Framework,
        state: CycleState,
        pod: Pod,
        diagnosis: Diagnosis,
    ) -> tuple[list[NodeInfo], int]:
        """Node by node: nominated pods counted in, memoised leading plugins, then the others."""
        feasible: list[NodeInfo] = []
        nominator = self.nominator
        any_nominated = nominator.has_nominated_pods()
        processed = 0
        for info in nodes:
            processed += 1
            if any_nominated and (nominated := nominator.nominated_pods_for(info.name)):
                status = framework.run_filter_with_nominated(state, pod, info, nominated)
            else:
                status = None
                if plan.memo_key is not None:
                    status = info.memo.get(plan.memo_key, _UNKNOWN)
                    if status is _UNKNOWN:
                        status = info.memo[plan.memo_key] = framework.run_plugins(
                            plan.memoised, state, pod, info
                        )
                if status is None and plan.direct:
                    status = framework.run_plugins(plan.direct, state, pod, info)
            if status is None:
                feasible.append(info)
                if len(feasible) >= wanted:
                    break
            else:
                _record(diagnosis, info, status)
        return feasible, processed

    def _memoised_pass(
        self,
        nodes: list[NodeInfo],
        wanted: int,
        plan: FilterPlan,
        framework: Framework,
        state: CycleState,
        pod: Pod,
        diagnosis: Diagnosis,
    ) -> tuple[list[NodeInfo], int]:
        """Every verdict memoised: looked up a chunk of nodes at a time, as many as are still wanted."""
        feasible: list[NodeInfo] = []
        key, plugins = plan.memo_key, plan.memoised
        position = 0
        while position < len(nodes) and len(feasible) < wanted:
            chunk = nodes[position : position + wanted - len(feasible)]
            verdicts = [info.memo.get(key, _UNKNOWN) for info in chunk]
            for info, status in zip(chunk, verdicts, strict=True):
                if status is _UNKNOWN:
                    status = info.memo[key] = framework.run_plugins(plugins, state, pod, info)
                if status is None:
                    feasible.append(info)
                else:
                    _record(diagnosis, info, status)
            position += len(chunk)
        return feasible, position

    def select_host(self, nodes: Sequence[NodeInfo], totals: Sequence[int]) -> str:
        """The highest total; among equal highest, each equally likely."""
        best = max(totals)
        ties = [i for i, score in enumerate(totals) if score == best]
        return nodes[ties[0] if len(ties) == 1 else self.rng.choice(ties)].name


def _record(diagnosis: Diagnosis, info: NodeInfo, status: Status) -> None:
    diagnosis.node_statuses[info.name] = status
    diagnosis.unschedulable_plugins.add(status.plugin)


class NoNodesAvailableError(Exception):
    pass
