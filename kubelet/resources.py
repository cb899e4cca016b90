"""Container requests and limits turned into CRI Linux resources (shares, quota, memory, OOM score)."""

from __future__ import annotations

from api.meta.quantity import millicores, whole_units
from api.model.core_v1 import Container
from cri import domain as d

CPU_PERIOD_US = 100_000
MIN_SHARES = 2


def oom_score_adj(qos: str, container: Container, node_memory: int) -> int:
    if qos == "Guaranteed":
        return -997
    if qos == "BestEffort":
        return 1000
    requests = (container.resources.requests if container.resources else None) or {}
    memory = whole_units(requests["memory"]) if "memory" in requests else 0
    score = 1000 - (1000 * memory) // max(node_memory, 1)
    return int(min(max(score, 2), 999))


def linux_resources(container: Container, *, qos: str, node_memory: int) -> d.LinuxContainerResources:
    resources = container.resources
    limits = dict(resources.limits or {}) if resources else {}
    requests = dict(resources.requests or {}) if resources else {}
    cpu_request = requests.get("cpu") or limits.get("cpu")
    shares = max(MIN_SHARES, millicores(cpu_request) * 1024 // 1000) if cpu_request else MIN_SHARES
    quota = millicores(limits["cpu"]) * CPU_PERIOD_US // 1000 if "cpu" in limits else 0
    return d.LinuxContainerResources(
        cpu_period=CPU_PERIOD_US if quota else 0,
        cpu_quota=quota,
        cpu_shares=shares,
        memory_limit_in_bytes=whole_units(limits["memory"]) if "memory" in limits else 0,
        oom_score_adj=oom_score_adj(qos, container, node_memory),
    )
