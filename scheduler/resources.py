"""Resource vectors and a pod's requests as kube-scheduler counts them (resourcehelper.PodRequests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from api.meta import quantity

# Parsed once per distinct text: workloads repeat the same few quantities.
millicores = lru_cache(maxsize=4096)(quantity.millicores)
whole_units = lru_cache(maxsize=4096)(quantity.whole_units)

CPU, MEMORY, EPHEMERAL_STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
_NON_SCALAR = frozenset({CPU, MEMORY, EPHEMERAL_STORAGE, PODS})


@dataclass(frozen=True)
class Resources:
    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    scalar: Mapping[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        return self.scalar.get(name, 0)

    def is_zero(self) -> bool:
        return not (self.milli_cpu or self.memory or self.ephemeral_storage or any(self.scalar.values()))

    def plus(self, other: Resources) -> Resources:
        scalar = dict(self.scalar)
        for name, value in other.scalar.items():
            scalar[name] = scalar.get(name, 0) + value
        return Resources(
            self.milli_cpu + other.milli_cpu,
            self.memory + other.memory,
            self.ephemeral_storage + other.ephemeral_storage,
            scalar,
        )

    def minus(self, other: Resources) -> Resources:
        negated = Resources(
            -other.milli_cpu,
            -other.memory,
            -other.ephemeral_storage,
            {name: -value for name, value in other.scalar.items()},
        )
        return self.plus(negated)

    def max(self, other: Resources) -> Resources:
        scalar = dict(self.scalar)
        for name, value in other.scalar.items():
            scalar[name] = max(scalar.get(name, 0), value)
        return Resources(
            max(self.milli_cpu, other.milli_cpu),
            max(self.memory, other.memory),
            max(self.ephemeral_storage, other.ephemeral_storage),
            scalar,
        )


ZERO = Resources()


def resource_list(values: Mapping[str, Any] | None, defaults: Mapping[str, Any] | None = None) -> Resources:
    """A core/v1 ResourceList; `defaults` fill names that are missing (not those set to zero)."""
    merged = dict(defaults or {})
    merged.update(values or {})
    if not merged:
        return ZERO
    scalar = {name: whole_units(str(v)) for name, v in merged.items() if name not in _NON_SCALAR}
    return Resources(
        millicores(str(merged[CPU])) if CPU in merged else 0,
        whole_units(str(merged[MEMORY])) if MEMORY in merged else 0,
        whole_units(str(merged[EPHEMERAL_STORAGE])) if EPHEMERAL_STORAGE in merged else 0,
        scalar,
    )


def _requests(container: Mapping[str, Any], defaults: Mapping[str, Any] | None) -> Resources:
    return resource_list((container.get("resources") or {}).get("requests"), defaults)


def pod_requests(spec: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> Resources:
    """Containers summed; init containers as a running max, sidecars (restartPolicy Always) added to both;
    overhead on top. `defaults` are upstream's non-zero defaults used for scoring."""
    total = _sum(_requests(c, defaults) for c in spec.get("containers") or ())
    sidecars, init_peak = ZERO, ZERO
    for container in spec.get("initContainers") or ():
        requests = _requests(container, defaults)
        if container.get("restartPolicy") == "Always":
            total = total.plus(requests)
            sidecars = sidecars.plus(requests)
            init_peak = init_peak.max(sidecars)
        else:
            init_peak = init_peak.max(requests.plus(sidecars))
    total = total.max(init_peak)
    overhead = spec.get("overhead")
    return total.plus(resource_list(overhead)) if overhead else total


def _sum(items: Iterable[Resources]) -> Resources:
    total = ZERO
    for item in items:
        total = total.plus(item)
    return total


NON_ZERO_DEFAULTS: Mapping[str, Any] = {
    CPU: f"{DEFAULT_MILLI_CPU_REQUEST}m",
    MEMORY: str(DEFAULT_MEMORY_REQUEST),
}
