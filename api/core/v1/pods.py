"""Reading a defaulted Pod: its metadata and spec are always set, its lists may be absent.

The model keeps what the JSON holds (an absent list is None, as the apiserver omits an empty
one); these accessors give the node's code the plain values it reads.
"""

from __future__ import annotations

from api.model.core_v1 import Container, Pod, PodSpec, Volume
from api.model.meta_v1 import ObjectMeta


class UndefaultedPodError(ValueError):
    """A pod without metadata or spec reached code that only handles defaulted pods."""


def pod_meta(pod: Pod) -> ObjectMeta:
    if pod.metadata is None:
        raise UndefaultedPodError("pod has no metadata")
    return pod.metadata


def pod_spec(pod: Pod) -> PodSpec:
    if pod.spec is None:
        raise UndefaultedPodError(f"pod {pod_name(pod)!r} has no spec")
    return pod.spec


def pod_name(pod: Pod) -> str:
    return (pod.metadata.name if pod.metadata else None) or ""


def pod_namespace(pod: Pod) -> str:
    return (pod.metadata.namespace if pod.metadata else None) or ""


def pod_uid(pod: Pod) -> str:
    return (pod.metadata.uid if pod.metadata else None) or ""


def labels_of(pod: Pod) -> dict[str, str]:
    return (pod.metadata.labels if pod.metadata else None) or {}


def annotations_of(pod: Pod) -> dict[str, str]:
    return (pod.metadata.annotations if pod.metadata else None) or {}


def init_containers(pod: Pod) -> list[Container]:
    return pod_spec(pod).init_containers or []


def all_containers(pod: Pod) -> list[Container]:
    """Init containers, then regular ones, in spec order."""
    spec = pod_spec(pod)
    return [*(spec.init_containers or ()), *spec.containers]


def pod_volumes(pod: Pod) -> list[Volume]:
    return pod_spec(pod).volumes or []


def volume_sources(volume: Volume) -> list[str]:
    """The JSON names of the sources a volume sets (a valid volume has exactly one)."""
    return [name for name in volume.to_dict() if name != "name"]
