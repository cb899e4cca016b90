"""The ``io.kubernetes.*`` labels and annotations the kubelet puts on sandboxes and containers.

They are how a restarted kubelet recognises what it created: pod identity in labels, container
spec hash, restart count and termination settings in annotations.
"""

from __future__ import annotations

import hashlib
import json

from api.core.v1.pods import labels_of, pod_name, pod_namespace, pod_spec, pod_uid
from api.model.core_v1 import Container, Pod

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_TYPE = "io.kubernetes.container.type"
CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"
KUBELET_MANAGED = "io.kubernetes.kubelet.managed"
CONFIG_HASH = "kubernetes.io/config.hash"
CONFIG_SOURCE = "kubernetes.io/config.source"
CONFIG_SEEN = "kubernetes.io/config.seen"
CONFIG_MIRROR = "kubernetes.io/config.mirror"


def pod_labels(pod: Pod) -> dict[str, str]:
    return {POD_NAME: pod_name(pod), POD_NAMESPACE: pod_namespace(pod), POD_UID: pod_uid(pod)}


def sandbox_labels(pod: Pod) -> dict[str, str]:
    return {**labels_of(pod), **pod_labels(pod)}


def container_labels(pod: Pod, container: Container) -> dict[str, str]:
    return {**pod_labels(pod), CONTAINER_NAME: container.name}


def container_hash(container: Container) -> str:
    """Changes exactly when the container's spec changes (the kubelet then restarts it)."""
    text = json.dumps(container.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def container_annotations(pod: Pod, container: Container, *, restart_count: int) -> dict[str, str]:
    return {
        CONTAINER_HASH: container_hash(container),
        RESTART_COUNT: str(restart_count),
        TERMINATION_MESSAGE_PATH: container.termination_message_path or "",
        TERMINATION_MESSAGE_POLICY: container.termination_message_policy or "",
        GRACE_PERIOD: str(pod_spec(pod).termination_grace_period_seconds or 0),
    }
