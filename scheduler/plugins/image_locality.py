"""ImageLocality: favours nodes that already have the pod's images, scaled by image size and spread."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from scheduler.framework.interfaces import MAX_NODE_SCORE, CycleState, Handle
from scheduler.framework.nodeinfo import NodeInfo
from scheduler.objects import Pod

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


class ImageLocality:
    name = "ImageLocality"

    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    def score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> list[int]:
        snapshot = self.handle.snapshot
        total_nodes = len(snapshot)
        if not any(image in snapshot.image_nodes for image in pod.images):
            return [0] * len(nodes)
        spread = {image: snapshot.image_nodes.get(image, 0) / total_nodes for image in pod.images}
        max_threshold = MAX_CONTAINER_THRESHOLD * len(pod.images)
        scores = []
        for info in nodes:
            images = info.node.images
            if not images:
                scores.append(0)
                continue
            total = sum(int(images[image] * spread[image]) for image in pod.images if image in images)
            scores.append(_priority(total, max_threshold))
        return scores

    def score_signature(self, state: CycleState, pod: Pod) -> Hashable | None:
        """The pod's images with how many of how many nodes have each: all the score depends on."""
        snapshot = self.handle.snapshot
        return (len(snapshot), *((image, snapshot.image_nodes.get(image, 0)) for image in pod.images))


def _priority(total: int, max_threshold: int) -> int:
    clamped = min(max(total, MIN_THRESHOLD), max_threshold)
    return MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)
