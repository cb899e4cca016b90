"""The per-cycle snapshot of nodes and their pods.

The cache updates it between scheduling cycles with the nodes that changed (as upstream's
UpdateSnapshot); within a cycle nothing changes it, and its NodeInfos are immutable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from scheduler.framework.nodeinfo import NodeInfo
from scheduler.objects import LABEL_REGION, LABEL_ZONE, Node

CHANGE_LOG_VERSIONS = 256


class Snapshot:
    def __init__(self, infos: Iterable[NodeInfo] = ()) -> None:
        self.node_infos: list[NodeInfo] = []
        self.by_name: dict[str, NodeInfo] = {}
        self.image_nodes: Counter[str] = Counter()
        self._with_affinity: set[str] = set()
        self._with_required_anti_affinity: set[str] = set()
        self._with_pods: set[str] = set()
        self._index: dict[str, int] = {}
        self.version = 0
        self._rebuilt_at = 0
        self._changes: dict[int, tuple[str, ...]] = {}
        self.replace_all(list(infos))

    def __len__(self) -> int:
        return len(self.node_infos)

    def get(self, name: str) -> NodeInfo | None:
        return self.by_name.get(name)

    def changed_since(self, version: int) -> set[str] | None:
        """The nodes replaced since `version`; None when the log does not reach back (or all were)."""
        if version < self._rebuilt_at:
            return None
        changed: set[str] = set()
        for step in range(version + 1, self.version + 1):
            names = self._changes.get(step)
            if names is None:
                return None
            changed.update(names)
        return changed

    def replace_all(self, infos: list[NodeInfo]) -> None:
        self.version += 1
        self._rebuilt_at = self.version
        self._changes.clear()
        self.by_name = {info.name: info for info in infos}
        self.node_infos = zone_interleaved(infos)
        self._index = {info.name: i for i, info in enumerate(self.node_infos)}
        self.image_nodes = Counter(image for info in infos for image in info.node.images)
        self._with_affinity = {i.name for i in infos if i.pods_with_affinity}
        self._with_required_anti_affinity = {i.name for i in infos if i.pods_with_required_anti_affinity}
        self._with_pods = {i.name for i in infos if i.pods}

    def replace(self, infos: Iterable[NodeInfo]) -> None:
        """Same set of nodes, new pods or node objects on some of them."""
        infos = list(infos)
        self.version += 1
        self._changes[self.version] = tuple(info.name for info in infos)
        self._changes.pop(self.version - CHANGE_LOG_VERSIONS, None)
        images_changed = False
        for info in infos:
            old = self.by_name[info.name]
            images_changed = images_changed or old.node.images is not info.node.images
            self.by_name[info.name] = info
            self.node_infos[self._index[info.name]] = info
            _mark(self._with_affinity, info.name, bool(info.pods_with_affinity))
            _mark(self._with_required_anti_affinity, info.name, bool(info.pods_with_required_anti_affinity))
            _mark(self._with_pods, info.name, bool(info.pods))
        if images_changed:
            self.image_nodes = Counter(image for info in self.node_infos for image in info.node.images)

    @property
    def with_affinity(self) -> list[NodeInfo]:
        """Nodes with a pod that has any pod (anti-)affinity term."""
        return [self.by_name[name] for name in self._with_affinity]

    @property
    def with_pods(self) -> list[NodeInfo]:
        return [self.by_name[name] for name in self._with_pods]

    @property
    def with_required_anti_affinity(self) -> list[NodeInfo]:
        return [self.by_name[name] for name in self._with_required_anti_affinity]


def _mark(names: set[str], name: str, present: bool) -> None:
    if present:
        names.add(name)
    else:
        names.discard(name)


def zone_key(node: Node) -> str:
    labels = node.labels
    return f"{labels.get(LABEL_REGION, '')}:\x00:{labels.get(LABEL_ZONE, '')}"


def zone_interleaved(infos: list[NodeInfo]) -> list[NodeInfo]:
    """Nodes taken one zone at a time in turn, as upstream's nodeTree lists them."""
    zones: dict[str, list[NodeInfo]] = {}
    for info in infos:
        zones.setdefault(zone_key(info.node), []).append(info)
    if len(zones) <= 1:
        return list(infos)
    ordered: list[NodeInfo] = []
    columns = list(zones.values())
    for row in range(max(len(c) for c in columns)):
        ordered.extend(column[row] for column in columns if row < len(column))
    return ordered
