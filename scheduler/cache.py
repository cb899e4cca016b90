"""The scheduler's cache: nodes and the pods bound or assumed on them; each cycle's snapshot comes from it."""

from __future__ import annotations

import dataclasses

from scheduler.framework.nodeinfo import NodeInfo
from scheduler.framework.snapshot import Snapshot
from scheduler.objects import Node, Pod


class Cache:
    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, Pod] = {}
        self._by_node: dict[str, dict[str, Pod]] = {}
        self._assumed: set[str] = set()
        self._dirty: set[str] = set()
        self._nodes_changed = False

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    def node(self, name: str) -> Node | None:
        info = self._nodes.get(name)
        return info.node if info else None

    def nodes(self) -> list[Node]:
        return [info.node for info in self._nodes.values()]

    def pod(self, key: str) -> Pod | None:
        return self._pods.get(key)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def add_node(self, node: Node) -> None:
        info = self._nodes.get(node.name)
        self._nodes[node.name] = info.with_node(node) if info else self._adopt_orphans(node)
        self._nodes_changed = self._nodes_changed or info is None
        self._dirty.add(node.name)

    def remove_node(self, name: str) -> None:
        if self._nodes.pop(name, None) is not None:
            self._nodes_changed = True

    def add_pod(self, pod: Pod) -> None:
        """A pod the apiserver says is bound (confirms an assumed one)."""
        self._assumed.discard(pod.key)
        self._remove(pod.key)
        self._place(pod)

    def remove_pod(self, key: str) -> None:
        self._assumed.discard(key)
        self._remove(key)

    def assume(self, pod: Pod, node_name: str) -> Pod:
        assumed = dataclasses.replace(pod, node_name=node_name)
        self._remove(pod.key)
        self._place(assumed)
        self._assumed.add(pod.key)
        return assumed

    def forget(self, pod: Pod) -> None:
        if pod.key in self._assumed:
            self.remove_pod(pod.key)

    def update_snapshot(self, snapshot: Snapshot) -> None:
        if self._nodes_changed:
            snapshot.replace_all(list(self._nodes.values()))
        elif self._dirty:
            snapshot.replace(self._nodes[name] for name in self._dirty if name in self._nodes)
        self._dirty.clear()
        self._nodes_changed = False

    def _place(self, pod: Pod) -> None:
        self._pods[pod.key] = pod
        self._by_node.setdefault(pod.node_name, {})[pod.key] = pod
        info = self._nodes.get(pod.node_name)
        if info is not None:
            self._nodes[pod.node_name] = info.with_pod(pod)
            self._dirty.add(pod.node_name)

    def _remove(self, key: str) -> None:
        pod = self._pods.pop(key, None)
        if pod is None:
            return
        self._by_node[pod.node_name].pop(key, None)
        info = self._nodes.get(pod.node_name)
        if info is not None:
            self._nodes[pod.node_name] = info.without_pod(pod)
            self._dirty.add(pod.node_name)

    def _adopt_orphans(self, node: Node) -> NodeInfo:
        info = NodeInfo(node)
        for pod in self._by_node.get(node.name, {}).values():
            info = info.with_pod(pod)
        return info
