"""/stats/summary: node and per-pod container usage from the runtime's CRI stats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubelet import labels as lbl
from kubelet.status import rfc3339

if TYPE_CHECKING:
    from kubelet.node import Kubelet

STATS_TIMEOUT_S = 10.0


async def summary(kubelet: Kubelet) -> dict[str, Any]:
    stats = await kubelet.client.list_container_stats(timeout=STATS_TIMEOUT_S)
    pods: dict[str, dict[str, Any]] = {}
    for item in stats:
        attributes = item.attributes
        if attributes is None:
            continue
        uid = attributes.labels.get(lbl.POD_UID, "")
        pod = kubelet.pods.get(uid)
        if pod is None:
            continue
        entry = pods.setdefault(
            uid,
            {"podRef": {"name": pod.name, "namespace": pod.namespace, "uid": uid}, "containers": []},
        )
        cpu, memory = item.cpu, item.memory
        entry["containers"].append(
            {
                "name": attributes.labels.get(lbl.CONTAINER_NAME, ""),
                "cpu": {
                    "time": rfc3339((cpu.timestamp if cpu else 0) / 1e9),
                    "usageNanoCores": cpu.usage_nano_cores if cpu else None,
                    "usageCoreNanoSeconds": cpu.usage_core_nano_seconds if cpu else None,
                },
                "memory": {
                    "time": rfc3339((memory.timestamp if memory else 0) / 1e9),
                    "workingSetBytes": memory.working_set_bytes if memory else None,
                    "usageBytes": memory.usage_bytes if memory else None,
                    "rssBytes": memory.rss_bytes if memory else None,
                },
            }
        )
    return {"node": {"nodeName": kubelet.settings.node_name}, "pods": list(pods.values())}
