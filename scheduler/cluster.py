"""What the scheduler needs from the cluster, as small protocols, and an in-memory cluster for tests and
benchmarks. The apiserver-backed implementation (informers, pods/binding, Events) plugs in behind the same
protocols."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from scheduler.objects import Pod

Json = Mapping[str, Any]


class ClusterError(Exception):
    """A write to the cluster failed (the one error the scheduler sees from its ClusterWriter)."""


class BindConflictError(ClusterError):
    """The pod is already bound or gone (the apiserver's 409/404 on pods/binding)."""


class Binder(Protocol):
    async def bind(self, pod: Pod, node_name: str) -> None: ...


class ClusterWriter(Binder, Protocol):
    """Binding plus what the scheduler reports and changes about pods."""

    async def delete_pod(self, pod: Pod, grace_period_seconds: int | None) -> None: ...

    async def set_nominated_node(self, pod: Pod, node_name: str) -> None: ...

    async def record_scheduled(self, pod: Pod, node_name: str) -> None: ...

    async def record_failure(self, pod: Pod, reason: str, message: str) -> None: ...


class ClusterWatcher(Protocol):
    """The pods/nodes view: informer event handlers, given the Kubernetes JSON objects."""

    def on_node(self, kind: str, node: Json) -> None: ...

    def on_pod(self, kind: str, pod: Json) -> None: ...


@dataclass(frozen=True)
class Event:
    """A core/v1 Event as the scheduler records it."""

    pod_key: str
    type: str
    reason: str
    message: str


def _key(raw: Json) -> str:
    meta = raw.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


@dataclass
class InMemoryCluster:
    """Pods and nodes in dicts, changes delivered to watchers at once (no apiserver)."""

    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    watchers: list[ClusterWatcher] = field(default_factory=list)
    record_events: bool = True

    def watch(self, watcher: ClusterWatcher) -> None:
        self.watchers.append(watcher)
        for node in self.nodes.values():
            watcher.on_node("ADDED", node)
        for pod in self.pods.values():
            watcher.on_pod("ADDED", pod)

    def add_node(self, node: Json) -> None:
        name = (node.get("metadata") or {}).get("name", "")
        kind = "MODIFIED" if name in self.nodes else "ADDED"
        self.nodes[name] = dict(node)
        for watcher in self.watchers:
            watcher.on_node(kind, self.nodes[name])

    def delete_node(self, name: str) -> None:
        node = self.nodes.pop(name)
        for watcher in self.watchers:
            watcher.on_node("DELETED", node)

    def add_pod(self, pod: Json) -> None:
        key = _key(pod)
        kind = "MODIFIED" if key in self.pods else "ADDED"
        self.pods[key] = dict(pod)
        self._notify(kind, self.pods[key])

    def _notify(self, kind: str, pod: Json) -> None:
        for watcher in self.watchers:
            watcher.on_pod(kind, pod)

    def node_of(self, key: str) -> str:
        return str(self.pods[key].get("spec", {}).get("nodeName") or "")

    async def bind(self, pod: Pod, node_name: str) -> None:
        stored = self.pods.get(pod.key)
        if stored is None:
            raise BindConflictError(f'pods "{pod.name}" not found')
        spec = stored.setdefault("spec", {})
        if spec.get("nodeName"):
            raise BindConflictError(f'pod {pod.name} is already assigned to node "{spec["nodeName"]}"')
        updated = {**stored, "spec": {**spec, "nodeName": node_name}}
        self.pods[pod.key] = updated
        self._notify("MODIFIED", updated)

    async def delete_pod(self, pod: Pod, grace_period_seconds: int | None) -> None:
        stored = self.pods.pop(pod.key, None)
        if stored is not None:
            self._notify("DELETED", stored)

    async def set_nominated_node(self, pod: Pod, node_name: str) -> None:
        stored = self.pods.get(pod.key)
        if stored is not None:
            status = {**(stored.get("status") or {}), "nominatedNodeName": node_name}
            self.pods[pod.key] = {**stored, "status": status}
            self._notify("MODIFIED", self.pods[pod.key])

    async def record_scheduled(self, pod: Pod, node_name: str) -> None:
        if self.record_events:
            message = f"Successfully assigned {pod.key} to {node_name}"
            self.events.append(Event(pod.key, "Normal", "Scheduled", message))

    async def record_failure(self, pod: Pod, reason: str, message: str) -> None:
        stored = self.pods.get(pod.key)
        if stored is not None:
            condition = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message}
            stored.setdefault("status", {})["conditions"] = [condition]
        if self.record_events:
            self.events.append(Event(pod.key, "Warning", "FailedScheduling", message))
