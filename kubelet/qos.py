"""The pod QoS class (Guaranteed, Burstable, BestEffort) from container requests and limits."""

from __future__ import annotations

from api.core.v1.pod import Pod
from api.meta.quantity import parse_quantity

_COMPUTE = ("cpu", "memory")


def qos_class(pod: Pod) -> str:
    containers = [*pod.spec.init_containers, *pod.spec.containers]
    requested = limited = False
    guaranteed = True
    for container in containers:
        resources = container.resources
        requests = dict(resources.requests) if resources else {}
        limits = dict(resources.limits) if resources else {}
        requests = {k: v for k, v in requests.items() if k in _COMPUTE and parse_quantity(v) != 0}
        limits = {k: v for k, v in limits.items() if k in _COMPUTE}
        requested |= bool(requests)
        limited |= bool(limits)
        effective_requests = {**limits, **requests}
        if set(limits) != set(_COMPUTE) or any(
            parse_quantity(effective_requests[k]) != parse_quantity(limits[k]) for k in _COMPUTE
        ):
            guaranteed = False
    if not requested and not limited:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
