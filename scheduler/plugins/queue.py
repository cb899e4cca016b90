"""SchedulingGates (PreEnqueue) and PrioritySort (QueueSort)."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.framework.interfaces import ActionType, ClusterEvent, QueuedPodInfo, Resource
from scheduler.framework.status import Status, unresolvable
from scheduler.objects import Pod


class SchedulingGates:
    name = "SchedulingGates"

    def pre_enqueue(self, pod: Pod) -> Status | None:
        if not pod.scheduling_gates:
            return None
        return unresolvable(f"waiting for scheduling gates: [{' '.join(pod.scheduling_gates)}]")

    def events_to_register(self) -> Sequence[ClusterEvent]:
        return (ClusterEvent(Resource.POD, ActionType.UPDATE, "PodSchedulingGatesEliminated"),)


class PrioritySort:
    name = "PrioritySort"

    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        """Higher priority first; equal priorities in the order they were queued."""
        if a.pod.priority != b.pod.priority:
            return a.pod.priority > b.pod.priority
        return a.timestamp < b.timestamp
