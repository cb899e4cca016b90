"""DefaultPreemption: when no node fits, evict lower-priority pods from the node where that disrupts least,
and nominate the pod to it (upstream's default_preemption.go and preemption.go, without
PodDisruptionBudgets)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scheduler.algorithm import Diagnosis, fit_error_message
from scheduler.cluster import ClusterError
from scheduler.framework.interfaces import CycleState, Handle, PostFilterResult
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.runtime import Framework
from scheduler.framework.status import SUCCESS, Code, Status, error, unresolvable, unschedulable
from scheduler.objects import Pod

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Candidate:
    node_name: str
    victims: tuple[Pod, ...]


def more_important(a: Pod, b: Pod) -> bool:
    """Higher priority, then the one that started earlier."""
    if a.priority != b.priority:
        return a.priority > b.priority
    return a.start_time < b.start_time


def _importance_key(pod: Pod) -> tuple[int, str]:
    return (-pod.priority, pod.start_time)


class DefaultPreemption:
    name = "DefaultPreemption"

    def __init__(self, args: Mapping[str, Any], handle: Handle, rng: random.Random | None = None) -> None:
        self.handle = handle
        self.min_percentage = int(args.get("minCandidateNodesPercentage", 10))
        self.min_absolute = int(args.get("minCandidateNodesAbsolute", 100))
        self.rng = rng or random.Random()

    @property
    def framework(self) -> Framework:
        framework: Framework = self.handle.framework
        return framework

    async def post_filter(
        self, state: CycleState, pod: Pod, statuses: Mapping[str, Status]
    ) -> tuple[PostFilterResult | None, Status]:
        reason = self._not_eligible(pod, statuses)
        if reason:
            return None, unschedulable("preemption: " + reason)
        candidates, node_statuses = self.find_candidates(state, pod, statuses)
        if not candidates:
            message = fit_error_message(len(self.handle.snapshot), Diagnosis(node_statuses))
            return PostFilterResult(), unschedulable("preemption: " + message)
        best = pick_one(candidates)
        try:
            await self._prepare(best, pod)
        except ClusterError as exc:
            return None, error(f"preemption: {exc}")
        return PostFilterResult(best.node_name), SUCCESS

    def _not_eligible(self, pod: Pod, statuses: Mapping[str, Status]) -> str:
        if pod.preemption_policy == "Never":
            return "not eligible due to preemptionPolicy=Never."
        nominated = pod.nominated_node_name
        if nominated:
            status = statuses.get(nominated)
            if status is not None and status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return ""
            info = self.handle.snapshot.get(nominated)
            if info and any(p.priority < pod.priority and p.terminating for p in info.pods):
                return "not eligible due to a terminating pod on the nominated node."
        return ""

    def find_candidates(
        self, state: CycleState, pod: Pod, statuses: Mapping[str, Status]
    ) -> tuple[list[Candidate], dict[str, Status]]:
        node_statuses: dict[str, Status] = {}
        potential: list[NodeInfo] = []
        for info in self.handle.snapshot.node_infos:
            status = statuses.get(info.name)
            if status is not None and status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                node_statuses[info.name] = unresolvable(NOT_HELPFUL)
            else:
                potential.append(info)
        if not potential:
            return [], node_statuses
        wanted = min(max(len(potential) * self.min_percentage // 100, self.min_absolute), len(potential))
        offset = self.rng.randrange(len(potential))
        candidates: list[Candidate] = []
        for i in range(len(potential)):
            info = potential[(offset + i) % len(potential)]
            victims, status = self.select_victims(state, pod, info)
            if status is None and victims:
                candidates.append(Candidate(info.name, victims))
                if len(candidates) >= wanted:
                    break
            elif status is not None:
                node_statuses[info.name] = status
        return candidates, node_statuses

    def select_victims(
        self, state: CycleState, pod: Pod, info: NodeInfo
    ) -> tuple[tuple[Pod, ...], Status | None]:
        framework = self.framework
        lower = sorted((p for p in info.pods if p.priority < pod.priority), key=_importance_key)
        if not lower:
            return (), unresolvable(NO_VICTIMS)
        trial_state, reduced = state.clone(), info
        for victim in lower:
            reduced = reduced.without_pod(victim)
            framework.run_remove_pod(trial_state, pod, victim, reduced)
        nominated = self.handle.nominator.nominated_pods_for(info.name)
        status = framework.run_filter_with_nominated(trial_state, pod, reduced, nominated)
        if status is not None:
            return (), status
        victims = []
        for candidate in lower:
            with_candidate = reduced.with_pod(candidate)
            framework.run_add_pod(trial_state, pod, candidate, with_candidate)
            if framework.run_filter_with_nominated(trial_state, pod, with_candidate, nominated) is None:
                reduced = with_candidate
            else:
                framework.run_remove_pod(trial_state, pod, candidate, reduced)
                victims.append(candidate)
        return tuple(victims), None

    async def _prepare(self, candidate: Candidate, pod: Pod) -> None:
        cluster = self.handle.cluster
        for victim in candidate.victims:
            await cluster.delete_pod(victim, None)
        for nominated in self.handle.nominator.nominated_pods_for(candidate.node_name):
            if nominated.priority < pod.priority and nominated.key != pod.key:
                await cluster.set_nominated_node(nominated, "")


def pick_one(candidates: Sequence[Candidate]) -> Candidate:
    """Upstream's pickOneNodeForPreemption criteria in order (no PDB violations counted here)."""
    remaining = list(candidates)
    criteria = (
        lambda c: -c.victims[0].priority,
        lambda c: -sum(v.priority + INT32_MAX + 1 for v in c.victims),
        lambda c: -len(c.victims),
        lambda c: _earliest_start_of_highest(c.victims),
    )
    for criterion in criteria:
        best = max(criterion(c) for c in remaining)
        remaining = [c for c in remaining if criterion(c) == best]
        if len(remaining) == 1:
            break
    return remaining[0]


def _earliest_start_of_highest(victims: Sequence[Pod]) -> str:
    highest = max(v.priority for v in victims)
    return min(v.start_time for v in victims if v.priority == highest)
