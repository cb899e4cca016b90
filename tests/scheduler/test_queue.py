"""The scheduling queue: priority order, backoff 1 s doubling to 10 s, moves by events, 5-minute flush."""

from __future__ import annotations

from api.client.clock import ManualClock
from scheduler.framework.interfaces import ActionType, ClusterEvent, Resource
from scheduler.framework.status import Status, unresolvable
from scheduler.objects import Pod
from scheduler.plugins.queue import PrioritySort, SchedulingGates
from scheduler.queue import SchedulingQueue
from tests.scheduler.builders import pod

NODE_ADD = ClusterEvent(Resource.NODE, ActionType.ADD)
POD_DELETE = ClusterEvent(Resource.ASSIGNED_POD, ActionType.DELETE)


def _queue(clock: ManualClock) -> SchedulingQueue:
    gates = SchedulingGates()

    def pre_enqueue(p: Pod) -> Status | None:
        status = gates.pre_enqueue(p)
        return status.by(gates.name) if status else None

    events = {
        "NodeResourcesFit": (POD_DELETE, ClusterEvent(Resource.NODE, ActionType.ADD | ActionType.UPDATE))
    }
    return SchedulingQueue(PrioritySort().less, pre_enqueue, events, clock)


def _names(queue: SchedulingQueue) -> list[str]:
    names = []
    while (info := queue.pop_nowait()) is not None:
        names.append(info.pod.name)
    return names


def test_higher_priority_first_then_in_arrival_order() -> None:
    clock = ManualClock()
    queue = _queue(clock)
    for name, priority in (("low-1", 0), ("high", 100), ("low-2", 0)):
        queue.add(Pod.parse(pod(name, priority=priority)))
        clock.advance(0.001)
    assert _names(queue) == ["high", "low-1", "low-2"]


def test_backoff_starts_at_one_second_and_doubles_to_ten() -> None:
    queue = _queue(ManualClock())
    assert [queue.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_unschedulable_pod_moves_on_a_registered_event_and_waits_out_its_backoff() -> None:
    clock = ManualClock()
    queue = _queue(clock)
    queue.add(Pod.parse(pod("p")))
    info = queue.pop_nowait()
    assert info is not None and info.attempts == 1
    queue.add_unschedulable(info, queue.scheduling_cycle, ["NodeResourcesFit"])
    assert queue.pending() == {"active": 0, "backoff": 0, "unschedulable": 1}
    queue.move_all_to_active_or_backoff(ClusterEvent(Resource.NAMESPACE, ActionType.ADD))
    assert queue.pending()["unschedulable"] == 1
    queue.move_all_to_active_or_backoff(NODE_ADD)
    assert queue.pending() == {"active": 0, "backoff": 1, "unschedulable": 0}
    clock.advance(0.9)
    queue.flush_backoff_completed()
    assert queue.pop_nowait() is None
    clock.advance(0.2)
    queue.flush_backoff_completed()
    again = queue.pop_nowait()
    assert again is not None and again.attempts == 2


def test_a_move_request_during_the_attempt_sends_the_pod_to_backoff() -> None:
    clock = ManualClock()
    queue = _queue(clock)
    queue.add(Pod.parse(pod("p")))
    info = queue.pop_nowait()
    assert info is not None
    cycle = queue.scheduling_cycle
    queue.move_all_to_active_or_backoff(NODE_ADD)
    queue.add_unschedulable(info, cycle, ["NodeResourcesFit"])
    assert queue.pending()["backoff"] == 1


def test_unschedulable_pods_are_flushed_after_five_minutes() -> None:
    clock = ManualClock()
    queue = _queue(clock)
    queue.add(Pod.parse(pod("p")))
    info = queue.pop_nowait()
    assert info is not None
    queue.add_unschedulable(info, queue.scheduling_cycle, ["NodeResourcesFit"])
    clock.advance(299)
    queue.flush_unschedulable_left_over()
    assert queue.pending()["unschedulable"] == 1
    clock.advance(2)
    queue.flush_unschedulable_left_over()
    assert _names(queue) == ["p"]


def test_gated_pods_wait_until_their_gates_are_removed() -> None:
    queue = _queue(ManualClock())
    gated = pod("p", schedulingGates=[{"name": "example.com/quota"}])
    queue.add(Pod.parse(gated))
    assert queue.pop_nowait() is None
    queue.move_all_to_active_or_backoff(NODE_ADD)
    assert queue.pop_nowait() is None
    queue.update(Pod.parse(pod("p")))
    assert _names(queue) == ["p"]


def test_scheduling_gates_message() -> None:
    status = SchedulingGates().pre_enqueue(
        Pod.parse(pod("p", schedulingGates=[{"name": "a"}, {"name": "b"}]))
    )
    assert status == unresolvable("waiting for scheduling gates: [a b]")


def test_deleted_pods_leave_the_queue() -> None:
    queue = _queue(ManualClock())
    queue.add(Pod.parse(pod("p")))
    queue.delete("default/p")
    assert queue.pop_nowait() is None


def test_a_pod_updated_while_being_scheduled_is_requeued_in_its_new_version() -> None:
    clock = ManualClock()
    queue = _queue(clock)
    queue.add(Pod.parse(pod("p", cpu="2")))
    info = queue.pop_nowait()
    assert info is not None
    queue.update(Pod.parse(pod("p", cpu="1")))
    assert queue.pending() == {"active": 0, "backoff": 0, "unschedulable": 0}
    queue.add_unschedulable(info, queue.scheduling_cycle, ["NodeResourcesFit"])
    assert queue.pending()["backoff"] == 1
    clock.advance(1.0)
    queue.flush_backoff_completed()
    again = queue.pop_nowait()
    assert again is not None and again.pod.requests.milli_cpu == 1000


def test_a_pod_deleted_while_being_scheduled_is_not_requeued() -> None:
    queue = _queue(ManualClock())
    queue.add(Pod.parse(pod("p")))
    info = queue.pop_nowait()
    assert info is not None
    queue.delete("default/p")
    queue.add_unschedulable(info, queue.scheduling_cycle, ["NodeResourcesFit"])
    assert queue.pending() == {"active": 0, "backoff": 0, "unschedulable": 0}
