"""The scheduler: informer handlers feeding the cache and queue, the serial scheduling cycle and the
asynchronous binding cycle (upstream's scheduleOne, split in schedulingCycle and bindingCycle)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Mapping, Sequence
from typing import Any

from scheduler.algorithm import Algorithm, FitError, NoNodesAvailableError
from scheduler.cache import Cache
from scheduler.cluster import ClusterWriter, Json
from scheduler.config import SchedulerConfig
from scheduler.framework.interfaces import (
    ActionType,
    ClusterEvent,
    CycleState,
    EnqueueExtensions,
    Handle,
    QueuedPodInfo,
    Resource,
)
from scheduler.framework.registry import Registry
from scheduler.framework.runtime import Framework, SchedulingError
from scheduler.framework.snapshot import Snapshot
from scheduler.framework.status import Status
from scheduler.metrics import SchedulerMetrics
from scheduler.objects import Node, Pod
from scheduler.plugins.registry import in_tree_registry
from scheduler.profile import build_framework
from scheduler.queue import Clock, SchedulingQueue

NODE_ADD = ClusterEvent(Resource.NODE, ActionType.ADD)
NODE_UPDATE = ClusterEvent(Resource.NODE, ActionType.UPDATE)
ASSIGNED_POD_ADD = ClusterEvent(Resource.ASSIGNED_POD, ActionType.ADD)
ASSIGNED_POD_UPDATE = ClusterEvent(Resource.ASSIGNED_POD, ActionType.UPDATE)
ASSIGNED_POD_DELETE = ClusterEvent(Resource.ASSIGNED_POD, ActionType.DELETE)


class Scheduler:
    def __init__(
        self,
        config: SchedulerConfig,
        cluster: ClusterWriter,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        handle_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.cluster = cluster
        self.cache = Cache()
        self.snapshot = Snapshot()
        self.metrics = SchedulerMetrics()
        registry = registry or in_tree_registry()
        self.profiles: dict[str, Framework] = {}
        for profile in config.profiles:
            handle = Handle(self.snapshot, self, cluster, **dict(handle_options or {}))
            framework = build_framework(profile, registry, handle, config.percentage_of_nodes_to_score)
            handle.framework = framework
            self.profiles[profile.scheduler_name] = framework
        first = next(iter(self.profiles.values()))
        self.queue = SchedulingQueue(
            first.plugins.queue_sort[0].less,
            self._pre_enqueue,
            self._events_by_plugin(),
            clock,
            config.pod_initial_backoff_seconds,
            config.pod_max_backoff_seconds,
        )
        self.metrics.report_pending(self.queue.pending)
        self.algorithm = Algorithm(self.snapshot, self, rng)
        self._bindings: asyncio.TaskGroup | None = None

    def _events_by_plugin(self) -> dict[str, Sequence[ClusterEvent]]:
        events: dict[str, Sequence[ClusterEvent]] = {}
        for framework in self.profiles.values():
            for name, plugin in framework.instances.items():
                if isinstance(plugin, EnqueueExtensions):
                    events[name] = plugin.events_to_register()
        return events

    def _pre_enqueue(self, pod: Pod) -> Status | None:
        return self.profiles[pod.scheduler_name].run_pre_enqueue(pod)

    def nominated_pods_for(self, node_name: str) -> Sequence[Pod]:
        return self.queue.nominated_pods_for(node_name)

    def has_nominated_pods(self) -> bool:
        return self.queue.has_nominated_pods()

    # informer event handlers

    def on_node(self, kind: str, node: Json) -> None:
        if kind == "DELETED":
            self.cache.remove_node((node.get("metadata") or {}).get("name", ""))
            return
        parsed = Node.parse(node)
        old = self.cache.node(parsed.name)
        if old is not None and old.same_for_scheduling(parsed):
            return  # a status heartbeat: nothing a plugin reads changed
        self.cache.add_node(parsed)
        self.queue.move_all_to_active_or_backoff(NODE_UPDATE if old is not None else NODE_ADD)

    def on_pod(self, kind: str, raw: Json) -> None:
        pod = Pod.parse(raw)
        if kind == "DELETED":
            self._pod_deleted(pod)
        elif pod.node_name:
            self._pod_assigned(kind, pod)
        elif pod.scheduler_name in self.profiles and not pod.terminating:
            old = self.queue.pod(pod.key)
            if old is None:
                self.queue.add(pod)
            else:
                self.queue.update(pod, changed=_spec_changed(old.raw, raw))

    def _pod_deleted(self, pod: Pod) -> None:
        if self.cache.pod(pod.key) is not None:
            self.cache.remove_pod(pod.key)
            self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
        self.queue.delete(pod.key)

    def _pod_assigned(self, kind: str, pod: Pod) -> None:
        known = self.cache.pod(pod.key) is not None
        self.queue.delete(pod.key)
        self.cache.add_pod(pod)
        self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_UPDATE if known else ASSIGNED_POD_ADD)

    # scheduling

    async def schedule_one(self) -> None:
        info = await self.queue.pop()
        await self.schedule(info)

    async def schedule(self, info: QueuedPodInfo) -> None:
        pod = info.pod
        framework = self.profiles[pod.scheduler_name]
        if self.cache.pod(pod.key) is not None:
            self.queue.done(pod.key)
            return  # bound or assumed meanwhile
        self.cache.update_snapshot(self.snapshot)
        cycle = self.queue.scheduling_cycle
        state = CycleState()
        started = self.queue.clock.now()
        try:
            result = self.algorithm.schedule(framework, state, pod)
        except FitError as fit:
            await self._fit_failure(framework, state, info, cycle, fit)
            return
        except NoNodesAvailableError as exc:
            await self._failure(info, cycle, (), "Unschedulable", str(exc))
            return
        except SchedulingError as exc:
            await self._failure(info, cycle, (), "SchedulerError", exc.status.message)
            return
        assumed = self.cache.assume(pod, result.node_name)
        status = framework.run_reserve(state, assumed, result.node_name) or framework.run_permit(
            state, assumed, result.node_name
        )
        if status is not None:
            self._undo(framework, state, assumed, result.node_name)
            await self._failure(info, cycle, (status.plugin,), "Unschedulable", status.message)
            return
        self.metrics.observe_attempt("scheduled", self.queue.clock.now() - started)
        binding = self._bind(framework, state, info, assumed, result.node_name)
        if self._bindings is None:
            await binding
        else:
            self._bindings.create_task(binding)

    async def _fit_failure(
        self, framework: Framework, state: CycleState, info: QueuedPodInfo, cycle: int, fit: FitError
    ) -> None:
        nominated = ""
        if framework.plugins.post_filter:
            result, status = await framework.run_post_filter(state, info.pod, fit.diagnosis.node_statuses)
            if status.message:
                fit.diagnosis.post_filter_message = status.message
            nominated = result.nominated_node_name if result else ""
        await self._failure(
            info, cycle, fit.diagnosis.unschedulable_plugins, "Unschedulable", str(fit), nominated
        )

    async def _failure(
        self,
        info: QueuedPodInfo,
        cycle: int,
        plugins: Sequence[str] | set[str],
        reason: str,
        message: str,
        nominated: str = "",
    ) -> None:
        self.metrics.observe_attempt("unschedulable" if reason == "Unschedulable" else "error", 0.0)
        pod = info.pod
        if nominated:
            pod = dataclasses.replace(pod, nominated_node_name=nominated)
            await self.cluster.set_nominated_node(pod, nominated)
        if self.cache.pod(pod.key) is not None:
            self.queue.done(pod.key)
            return  # bound meanwhile
        self.queue.add_unschedulable(dataclasses.replace(info, pod=pod), cycle, [p for p in plugins if p])
        await self.cluster.record_failure(pod, reason, message)

    def _undo(self, framework: Framework, state: CycleState, pod: Pod, node_name: str) -> None:
        framework.run_unreserve(state, pod, node_name)
        self.cache.forget(pod)

    async def _bind(
        self, framework: Framework, state: CycleState, info: QueuedPodInfo, pod: Pod, node_name: str
    ) -> None:
        status = await framework.run_binding(state, pod, node_name)
        if status is None:
            self.queue.done(pod.key)
            await self.cluster.record_scheduled(pod, node_name)
            return
        self._undo(framework, state, pod, node_name)
        self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
        message = f"binding rejected: {status.message}"
        await self._failure(info, self.queue.scheduling_cycle, (), "SchedulerError", message)

    async def run(self) -> None:
        """Schedules until cancelled; binding cycles run concurrently under the same TaskGroup."""
        async with asyncio.TaskGroup() as group:
            self._bindings = group
            group.create_task(self.queue.run())
            try:
                while True:
                    await self.schedule_one()
            finally:
                self._bindings = None


def _spec_changed(old: Json, new: Json) -> bool:
    def stripped(raw: Json) -> tuple[Any, Any]:
        meta = {
            k: v
            for k, v in (raw.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields", "generation", "finalizers")
        }
        return meta, raw.get("spec")

    return stripped(old) != stripped(new)
