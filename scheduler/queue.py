"""The scheduling queue: activeQ (heap by QueueSort), backoffQ (1 s doubling to 10 s) and unschedulable pods
moved back by cluster events or after 5 minutes (upstream's PriorityQueue). Time comes from a Clock."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from api.client.clock import MonotonicClock
from scheduler.framework.interfaces import ClusterEvent, QueuedPodInfo
from scheduler.framework.status import Status
from scheduler.objects import Pod

DEFAULT_MAX_IN_UNSCHEDULABLE_SECONDS = 300.0
BACKOFF_FLUSH_INTERVAL = 1.0
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0


class Clock(Protocol):
    """The part of the client library's Clock the queue reads."""

    def now(self) -> float: ...


Less = Callable[[QueuedPodInfo, QueuedPodInfo], bool]


@dataclass(eq=False)
class _ActiveEntry:
    info: QueuedPodInfo
    less: Less

    def __lt__(self, other: _ActiveEntry) -> bool:
        return self.less(self.info, other.info)


@dataclass
class _Nominations:
    by_node: dict[str, dict[str, Pod]] = field(default_factory=dict)
    node_of: dict[str, str] = field(default_factory=dict)

    def set(self, pod: Pod, node_name: str) -> None:
        self.remove(pod.key)
        if node_name:
            self.by_node.setdefault(node_name, {})[pod.key] = pod
            self.node_of[pod.key] = node_name

    def remove(self, key: str) -> None:
        node = self.node_of.pop(key, None)
        if node is not None:
            self.by_node[node].pop(key, None)
            if not self.by_node[node]:
                del self.by_node[node]


class SchedulingQueue:
    def __init__(
        self,
        less: Less,
        pre_enqueue: Callable[[Pod], Status | None],
        events_by_plugin: Mapping[str, Sequence[ClusterEvent]],
        clock: Clock | None = None,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        max_in_unschedulable: float = DEFAULT_MAX_IN_UNSCHEDULABLE_SECONDS,
    ) -> None:
        self._less = less
        self._pre_enqueue = pre_enqueue
        self._events_by_plugin = events_by_plugin
        self.clock = clock or MonotonicClock()
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self._active: list[_ActiveEntry] = []
        self._backoff: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._queued: dict[str, QueuedPodInfo] = {}  # in activeQ or backoffQ, by pod key
        self._in_backoff: set[str] = set()
        self._in_flight: dict[str, Pod] = {}  # popped, not yet bound or requeued: their latest version
        self._sequence = itertools.count()
        self._nominations = _Nominations()
        self._ready = asyncio.Event()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1

    # sizes, for metrics and tests
    def pending(self) -> dict[str, int]:
        active = len(self._queued) - len(self._in_backoff)
        return {"active": active, "backoff": len(self._in_backoff), "unschedulable": len(self._unschedulable)}

    def add(self, pod: Pod) -> None:
        now = self.clock.now()
        info = QueuedPodInfo(pod, timestamp=now)
        self._nominations.set(pod, pod.nominated_node_name)
        self._add_active_or_gate(info)

    def _add_active_or_gate(self, info: QueuedPodInfo) -> None:
        status = self._pre_enqueue(info.pod)
        if status is not None:
            self._unschedulable[info.pod.key] = replace(
                info, gated=True, unschedulable_plugins=frozenset({status.plugin})
            )
            return
        self._push_active(replace(info, gated=False))

    def _push_active(self, info: QueuedPodInfo) -> None:
        key = info.pod.key
        self._unschedulable.pop(key, None)
        self._in_backoff.discard(key)
        self._queued[key] = info
        heapq.heappush(self._active, _ActiveEntry(info, self._less))
        self._ready.set()

    def _push_backoff(self, info: QueuedPodInfo) -> None:
        key = info.pod.key
        self._unschedulable.pop(key, None)
        self._queued[key] = info
        self._in_backoff.add(key)
        heapq.heappush(self._backoff, (self.backoff_expiry(info), next(self._sequence), key))

    def pop_nowait(self) -> QueuedPodInfo | None:
        while self._active:
            entry = heapq.heappop(self._active)
            key = entry.info.pod.key
            if self._queued.get(key) is not entry.info or key in self._in_backoff:
                continue  # superseded by an update, a delete or a move
            del self._queued[key]
            self._in_flight[key] = entry.info.pod
            self.scheduling_cycle += 1
            started = entry.info.initial_attempt_timestamp
            return replace(
                entry.info,
                attempts=entry.info.attempts + 1,
                initial_attempt_timestamp=self.clock.now() if started is None else started,
            )
        self._ready.clear()
        return None

    async def pop(self) -> QueuedPodInfo:
        while True:
            info = self.pop_nowait()
            if info is not None:
                return info
            await self._ready.wait()

    def backoff_duration(self, attempts: int) -> float:
        duration = self.initial_backoff
        for _ in range(1, attempts):
            if duration > self.max_backoff - duration:
                return self.max_backoff
            duration += duration
        return duration

    def backoff_expiry(self, info: QueuedPodInfo) -> float:
        return info.timestamp + self.backoff_duration(info.attempts)

    def add_unschedulable(self, info: QueuedPodInfo, cycle: int, plugins: Iterable[str] = ()) -> None:
        """After a failed attempt: to backoffQ when a move request came during the attempt (or on error),
        else to the unschedulable pods."""
        latest = self._in_flight.pop(info.pod.key, None)
        if latest is None:
            return  # deleted while it was being scheduled
        if latest.nominated_node_name != info.pod.nominated_node_name and not info.pod.nominated_node_name:
            latest = replace(latest, nominated_node_name=info.pod.nominated_node_name)
        info = replace(info, pod=latest, timestamp=self.clock.now(), unschedulable_plugins=frozenset(plugins))
        if self.move_request_cycle >= cycle or not info.unschedulable_plugins:
            self._push_backoff(info)
        else:
            self._unschedulable[info.pod.key] = info
        self._nominations.set(info.pod, info.pod.nominated_node_name)

    def flush_backoff_completed(self) -> None:
        now = self.clock.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            info = self._queued.get(key)
            if info is not None and key in self._in_backoff:
                self._push_active(info)

    def flush_unschedulable_left_over(self) -> None:
        now = self.clock.now()
        stale = [
            i
            for i in self._unschedulable.values()
            if not i.gated and now - i.timestamp > self.max_in_unschedulable
        ]
        self._move(stale)

    def move_all_to_active_or_backoff(self, event: ClusterEvent) -> None:
        """Unschedulable pods whose rejecting plugins registered for the event go back."""
        moving = [i for i in self._unschedulable.values() if not i.gated and self._may_help(i, event)]
        self._move(moving)
        self.move_request_cycle = self.scheduling_cycle

    def _may_help(self, info: QueuedPodInfo, event: ClusterEvent) -> bool:
        if not info.unschedulable_plugins:
            return True
        for plugin in info.unschedulable_plugins:
            if any(registered.covers(event) for registered in self._events_by_plugin.get(plugin, ())):
                return True
        return False

    def _move(self, infos: Iterable[QueuedPodInfo]) -> None:
        now = self.clock.now()
        for info in infos:
            if self.backoff_expiry(info) > now:
                self._push_backoff(info)
            else:
                self._push_active(info)

    def update(self, pod: Pod, changed: bool = True) -> None:
        """A pending pod's new version; `changed` says whether more than its status changed."""
        key = pod.key
        self._nominations.set(pod, pod.nominated_node_name)
        if key in self._in_flight:
            self._in_flight[key] = pod
            if changed:
                self.move_request_cycle = self.scheduling_cycle
            return
        queued = self._queued.get(key)
        if queued is not None:
            updated = replace(queued, pod=pod)
            self._queued[key] = updated
            if key not in self._in_backoff:
                heapq.heappush(self._active, _ActiveEntry(updated, self._less))
            return
        waiting = self._unschedulable.get(key)
        if waiting is None:
            self.add(pod)
        elif not changed:
            self._unschedulable[key] = replace(waiting, pod=pod)
        elif waiting.gated:
            self._add_active_or_gate(replace(waiting, pod=pod))
        else:
            self._move([replace(waiting, pod=pod)])

    def done(self, key: str) -> None:
        """The pod's attempt ended in a binding (or it was found bound)."""
        self._in_flight.pop(key, None)

    def delete(self, key: str) -> None:
        self._in_flight.pop(key, None)
        self._queued.pop(key, None)
        self._in_backoff.discard(key)
        self._unschedulable.pop(key, None)
        self._nominations.remove(key)

    def pod(self, key: str) -> Pod | None:
        """The latest version of a pending pod, queued or being scheduled."""
        info = self._queued.get(key) or self._unschedulable.get(key)
        return info.pod if info else self._in_flight.get(key)

    def nominate(self, pod: Pod, node_name: str) -> None:
        self._nominations.set(pod, node_name)

    def has_nominated_pods(self) -> bool:
        return bool(self._nominations.node_of)

    def nominated_pods_for(self, node_name: str) -> Sequence[Pod]:
        pods = self._nominations.by_node.get(node_name)
        return tuple(pods.values()) if pods else ()

    async def run(self) -> None:
        """Flushes backoffQ every second and stale unschedulable pods every 30 s."""
        ticks = 0
        while True:
            await asyncio.sleep(BACKOFF_FLUSH_INTERVAL)
            self.flush_backoff_completed()
            ticks += 1
            if ticks % int(UNSCHEDULABLE_FLUSH_INTERVAL) == 0:
                self.flush_unschedulable_left_over()
