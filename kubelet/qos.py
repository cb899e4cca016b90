"""The pod QoS class (Guaranteed, Burstable, BestEffort) from container requests and limits."""

from __future__ import annotations

from api.core.v1.pods import all_containers
from api.meta.quantity import parse_quantity
from api.model.core_v1 import Pod

_COMPUTE = ("cpu", "memory")


def qos_class(pod: Pod) -> str:
    containers = all_containers(pod)
    requested = limited = False
    guaranteed = True
    for container in containers:
        resources = container.resources
        requests = dict(resources.requests or {}) if resources else {}
        limits = dict(resources.limits or {}) if resources else {}
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
