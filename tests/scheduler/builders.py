"""Kubernetes JSON objects for scheduler tests, and a scheduler over an in-memory cluster."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from api.client.clock import ManualClock
from scheduler.cluster import InMemoryCluster
from scheduler.config import SchedulerConfig
from scheduler.framework.interfaces import (
    CycleState,
    Handle,
    PreFilterPlugin,
    PreScorePlugin,
    ScoreNormalizer,
)
from scheduler.framework.nodeinfo import NodeInfo, node_info
from scheduler.framework.snapshot import Snapshot
from scheduler.framework.status import Code, Status
from scheduler.objects import Node, Pod
from scheduler.scheduler import Scheduler


def node(
    name: str,
    cpu: str = "4",
    memory: str = "32Gi",
    pods: int = 110,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
    images: Sequence[tuple[str, int]] = (),
    unschedulable: bool = False,
    extra: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": memory, "pods": str(pods), **(extra or {})}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": list(taints), "unschedulable": unschedulable},
        "status": {
            "allocatable": allocatable,
            "capacity": allocatable,
            "images": [{"names": [image], "sizeBytes": size} for image, size in images],
        },
    }


def pod(
    name: str,
    cpu: str | None = None,
    memory: str | None = None,
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    priority: int = 0,
    node_name: str = "",
    image: str = "registry.k8s.io/pause:3.10",
    created: str = "2026-01-01T00:00:00Z",
    **spec: Any,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": image}
    if requests:
        container["resources"] = {"requests": requests}
    body: dict[str, Any] = {"containers": [container], "priority": priority, **spec}
    if node_name:
        body["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "labels": dict(labels or {}),
            "creationTimestamp": created,
        },
        "spec": body,
    }


def info(raw_node: Mapping[str, Any], *raw_pods: Mapping[str, Any]) -> NodeInfo:
    parsed = Node.parse(raw_node)
    return node_info(
        parsed, tuple(Pod.parse({**p, "spec": {**p["spec"], "nodeName": parsed.name}}) for p in raw_pods)
    )


def cluster_scheduler(
    nodes: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]] = (),
    config: SchedulerConfig | None = None,
    seed: int = 1,
) -> tuple[InMemoryCluster, Scheduler, ManualClock]:
    cluster = InMemoryCluster()
    clock = ManualClock()
    scheduler = Scheduler(config or SchedulerConfig(), cluster, clock=clock, rng=random.Random(seed))
    for raw in nodes:
        cluster.add_node(raw)
    for raw in pods:
        cluster.add_pod(raw)
    cluster.watch(scheduler)
    return cluster, scheduler, clock


async def schedule_all(scheduler: Scheduler) -> int:
    """Runs scheduling cycles until the active queue is empty; returns how many ran."""
    count = 0
    while (queued := scheduler.queue.pop_nowait()) is not None:
        await scheduler.schedule(queued)
        count += 1
    return count


class NoNominations:
    def nominated_pods_for(self, node_name: str) -> Sequence[Pod]:
        return ()

    def has_nominated_pods(self) -> bool:
        return False


def handle_for(*infos: NodeInfo) -> Handle:
    return Handle(Snapshot(infos), NoNominations(), InMemoryCluster())


def filter_statuses(
    plugin: Any, raw_pod: Mapping[str, Any], infos: Sequence[NodeInfo]
) -> dict[str, Status | None]:
    """PreFilter then Filter on each node, as the framework runs one plugin; a PreFilter Skip passes all."""
    state, parsed = CycleState(), Pod.parse(raw_pod)
    if isinstance(plugin, PreFilterPlugin):
        _, status = plugin.pre_filter(state, parsed)
        if status is not None and status.code is Code.SKIP:
            return {i.name: None for i in infos}
        if status is not None:
            return {i.name: status for i in infos}
    return {i.name: plugin.filter(state, parsed, i) for i in infos}


def reasons(statuses: Mapping[str, Status | None]) -> dict[str, tuple[str, ...]]:
    return {name: status.reasons if status else () for name, status in statuses.items()}


def scores(plugin: Any, raw_pod: Mapping[str, Any], infos: Sequence[NodeInfo]) -> dict[str, int]:
    """PreScore, Score and NormalizeScore of one plugin; a PreScore Skip scores nothing (empty dict)."""
    state, parsed = CycleState(), Pod.parse(raw_pod)
    if isinstance(plugin, PreScorePlugin):
        status = plugin.pre_score(state, parsed, infos)
        if status is not None and status.code is Code.SKIP:
            return {}
    result = plugin.score(state, parsed, infos)
    if isinstance(plugin, ScoreNormalizer):
        plugin.normalize_score(state, parsed, infos, result)
    return {i.name: s for i, s in zip(infos, result, strict=True)}
