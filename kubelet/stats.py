"""/stats/summary in the kubelet's Summary API shape (stats/v1alpha1).

Node: cpu, memory, network, fs (the kubelet's root dir), runtime.imageFs/containerFs (CRI
ImageFsInfo + statvfs), rlimit, systemContainers (the kubelet itself), from /proc and statvfs.
Pods: CRI ListPodSandboxStats when the runtime has it (pod cpu/memory/network/processes), else the
sum of the containers' ListContainerStats; each container's cpu, memory, rootfs (writable layer)
and logs; the pod's emptyDir/downward-API volumes and its ephemeral storage (rootfs + logs +
volumes), measured on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.core.v1.pods import pod_name, pod_namespace, pod_uid, pod_volumes
from cri import domain as d
from cri.errors import CRIError
from kubelet import host_stats as host
from kubelet import labels as lbl
from kubelet.host_stats import CpuRate, Json
from kubelet.sandbox_config import pod_log_directory
from kubelet.status import rfc3339

if TYPE_CHECKING:
    from api.model.core_v1 import Pod
    from kubelet.node import Kubelet

log = logging.getLogger(__name__)
STATS_TIMEOUT_S = 10.0


def _time(timestamp_ns: int) -> str:
    return rfc3339(timestamp_ns / 1e9)


def cpu_json(cpu: d.CpuUsage | None) -> Json | None:
    if cpu is None:
        return None
    body: Json = {"time": _time(cpu.timestamp)}
    if cpu.usage_nano_cores is not None:
        body["usageNanoCores"] = cpu.usage_nano_cores
    if cpu.usage_core_nano_seconds is not None:
        body["usageCoreNanoSeconds"] = cpu.usage_core_nano_seconds
    return body


def memory_json(memory: d.MemoryUsage | None) -> Json | None:
    if memory is None:
        return None
    body: Json = {"time": _time(memory.timestamp)}
    for key, value in (
        ("availableBytes", memory.available_bytes),
        ("usageBytes", memory.usage_bytes),
        ("workingSetBytes", memory.working_set_bytes),
        ("rssBytes", memory.rss_bytes),
        ("pageFaults", memory.page_faults),
        ("majorPageFaults", memory.major_page_faults),
    ):
        if value is not None:
            body[key] = value
    return body


def network_json(network: d.NetworkUsage | None) -> Json | None:
    if network is None:
        return None

    def interface(usage: d.NetworkInterfaceUsage) -> Json:
        return {
            "name": usage.name,
            "rxBytes": usage.rx_bytes,
            "rxErrors": usage.rx_errors,
            "txBytes": usage.tx_bytes,
            "txErrors": usage.tx_errors,
        }

    body: Json = {"time": _time(network.timestamp)}
    if network.default_interface is not None:
        body.update(interface(network.default_interface))
    body["interfaces"] = [interface(i) for i in network.interfaces]
    return body


def _sum(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def summed_cpu(containers: Iterable[d.ContainerStats]) -> d.CpuUsage | None:
    usages = [c.cpu for c in containers if c.cpu is not None]
    if not usages:
        return None
    return d.CpuUsage(
        timestamp=max(u.timestamp for u in usages),
        usage_core_nano_seconds=_sum(u.usage_core_nano_seconds for u in usages),
        usage_nano_cores=_sum(u.usage_nano_cores for u in usages),
    )


def summed_memory(containers: Iterable[d.ContainerStats]) -> d.MemoryUsage | None:
    usages = [c.memory for c in containers if c.memory is not None]
    if not usages:
        return None
    return d.MemoryUsage(
        timestamp=max(u.timestamp for u in usages),
        working_set_bytes=_sum(u.working_set_bytes for u in usages),
        usage_bytes=_sum(u.usage_bytes for u in usages),
        rss_bytes=_sum(u.rss_bytes for u in usages),
        page_faults=_sum(u.page_faults for u in usages),
        major_page_faults=_sum(u.major_page_faults for u in usages),
    )


def _with_usage(base: Json | None, *, used_bytes: int, inodes_used: int) -> Json | None:
    return None if base is None else {**base, "usedBytes": used_bytes, "inodesUsed": inodes_used}


def _set(body: Json, key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


@dataclass(frozen=True, kw_only=True)
class RuntimeStats:
    """One round of CRI stats: per pod UID, the sandbox's stats and its containers' stats."""

    pods: Mapping[str, d.LinuxPodSandboxStats | None] = field(default_factory=dict)
    containers: Mapping[str, list[d.ContainerStats]] = field(default_factory=dict)
    image_fs: d.ImageFsInfo | None = None


async def _runtime_stats(kubelet: Kubelet) -> RuntimeStats:
    client = kubelet.client
    containers: dict[str, list[d.ContainerStats]] = {}
    for item in await client.list_container_stats(timeout=STATS_TIMEOUT_S):
        uid = item.attributes.labels.get(lbl.POD_UID, "") if item.attributes else ""
        containers.setdefault(uid, []).append(item)
    pods: dict[str, d.LinuxPodSandboxStats | None] = {}
    try:
        for sandbox in await client.list_pod_sandbox_stats(timeout=STATS_TIMEOUT_S):
            uid = sandbox.attributes.labels.get(lbl.POD_UID, "") if sandbox.attributes else ""
            if sandbox.linux is not None and (pods.get(uid) is None or _ready(kubelet, uid, sandbox)):
                pods[uid] = sandbox.linux
    except CRIError as exc:  # Unimplemented, or a sandbox going away mid-list: containers still count
        log.debug("ListPodSandboxStats: %s; pod usage is the sum of its containers'", exc)
    try:
        image_fs: d.ImageFsInfo | None = await client.image_fs_info(timeout=STATS_TIMEOUT_S)
    except CRIError:
        image_fs = None
    return RuntimeStats(pods=pods, containers=containers, image_fs=image_fs)


def _container_name(item: d.ContainerStats) -> str:
    return item.attributes.labels.get(lbl.CONTAINER_NAME, "") if item.attributes else ""


def _ready(kubelet: Kubelet, uid: str, sandbox: d.PodSandboxStats) -> bool:
    ready = kubelet.pleg.snapshot.pod(uid).ready_sandbox()
    return ready is not None and sandbox.attributes is not None and sandbox.attributes.id == ready.id


class SummaryProvider:
    """Builds summaries; keeps the previous CPU samples so node and kubelet usageNanoCores are rates."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self._cpu = CpuRate()

    async def summary(self) -> Json:
        runtime = await _runtime_stats(self.kubelet)
        node = await asyncio.to_thread(self._node, runtime.image_fs)
        pods = [
            await asyncio.to_thread(self._pod, pod, runtime)
            for uid, pod in sorted(self.kubelet.pods.items())
            if uid in runtime.containers or uid in runtime.pods
        ]
        return {"node": node, "pods": pods}

    def _node(self, image_fs: d.ImageFsInfo | None) -> Json:
        kubelet = self.kubelet
        body: Json = {"nodeName": kubelet.settings.node_name}
        kubelet_container = self._kubelet_container()
        body["systemContainers"] = [kubelet_container] if kubelet_container else []
        _set(body, "startTime", host.boot_time())
        cpu_ns = host.node_cpu_ns()
        if cpu_ns is not None:
            body["cpu"] = self._cpu.stats("node", cpu_ns)
        _set(body, "memory", host.node_memory())
        _set(body, "network", host.node_network())
        _set(body, "fs", host.fs_stats(host.nearest_existing(kubelet.config.root_dir)))
        runtime: Json = {}
        if image_fs is not None:
            _set(runtime, "imageFs", _cri_fs(image_fs.image_filesystems))
            _set(runtime, "containerFs", _cri_fs(image_fs.container_filesystems))
        body["runtime"] = runtime
        _set(body, "rlimit", host.rlimit())
        return body

    def _kubelet_container(self) -> Json | None:
        process = host.process_stats(os.getpid())
        if process is None:
            return None
        cpu_ns, rss, started = process
        now = rfc3339(self.kubelet.clock())
        return {
            "name": "kubelet",
            "startTime": rfc3339(started),
            "cpu": self._cpu.stats("kubelet", cpu_ns),
            "memory": {"time": now, "usageBytes": rss, "workingSetBytes": rss, "rssBytes": rss},
        }

    def _pod(self, pod: Pod, runtime: RuntimeStats) -> Json:
        containers = self._current_instances(pod, runtime.containers.get(pod_uid(pod), []))
        sandbox = runtime.pods.get(pod_uid(pod))
        status = self.kubelet.statuses.get(pod_uid(pod))
        log_dir = Path(pod_log_directory(pod, self.kubelet.settings))
        body: Json = {"podRef": {"name": pod_name(pod), "namespace": pod_namespace(pod), "uid": pod_uid(pod)}}
        _set(body, "startTime", status.start_time if status else None)
        entries = [self._container(pod, item, log_dir) for item in containers]
        body["containers"] = sorted(entries, key=lambda c: str(c["name"]))
        _set(body, "cpu", cpu_json(sandbox.cpu if sandbox and sandbox.cpu else summed_cpu(containers)))
        _set(
            body,
            "memory",
            memory_json(sandbox.memory if sandbox and sandbox.memory else summed_memory(containers)),
        )
        _set(body, "network", network_json(sandbox.network if sandbox else None))
        volumes = self._volumes(pod)
        body["volume"] = volumes
        _set(body, "ephemeral-storage", self._ephemeral(body["containers"], volumes, log_dir))
        if sandbox is not None and sandbox.process is not None and sandbox.process.process_count is not None:
            body["process_stats"] = {"process_count": sandbox.process.process_count}
        return body

    def _current_instances(self, pod: Pod, items: list[d.ContainerStats]) -> list[d.ContainerStats]:
        """One entry per container name, the instance the pod runs now: runtimes list a restarted
        container's exited predecessors until they are collected (removeTerminatedContainers upstream)."""
        view = self.kubelet.pleg.snapshot.pod(pod_uid(pod))
        by_name: dict[str, list[d.ContainerStats]] = {}
        for item in items:
            by_name.setdefault(_container_name(item), []).append(item)
        chosen = []
        for name, group in by_name.items():
            latest = view.latest(name)
            current = latest.id if latest is not None else None
            chosen.append(next((i for i in group if i.attributes and i.attributes.id == current), group[0]))
        return chosen

    def _container(self, pod: Pod, item: d.ContainerStats, log_dir: Path) -> Json:
        name = _container_name(item)
        body: Json = {"name": name}
        runtime = self.kubelet.pleg.snapshot.pod(pod_uid(pod)).latest(name)
        if runtime is not None and runtime.started_at:
            body["startTime"] = _time(runtime.started_at)
        _set(body, "cpu", cpu_json(item.cpu))
        _set(body, "memory", memory_json(item.memory))
        layer = item.writable_layer
        if layer is not None:
            mountpoint = layer.fs_id.mountpoint if layer.fs_id else ""
            base = (host.fs_stats(mountpoint) if mountpoint else None) or {"time": _time(layer.timestamp)}
            body["rootfs"] = {
                **base,
                "usedBytes": layer.used_bytes or 0,
                "inodesUsed": layer.inodes_used or 0,
            }
        used, inodes = host.disk_usage(log_dir / name)
        logs_fs = host.fs_stats(host.nearest_existing(log_dir))
        _set(body, "logs", _with_usage(logs_fs, used_bytes=used, inodes_used=inodes))
        return body

    def _volumes(self, pod: Pod) -> list[Json]:
        volumes: list[Json] = []
        plugins = self.kubelet.volumes.pod_dir(pod_uid(pod)) / "volumes"
        for volume in pod_volumes(pod):
            for plugin in ("kubernetes.io~empty-dir", "kubernetes.io~downward-api"):
                path = plugins / plugin / volume.name
                if not path.is_dir():
                    continue
                used, inodes = host.disk_usage(path)
                stats = _with_usage(host.fs_stats(path), used_bytes=used, inodes_used=inodes)
                if stats is not None:
                    volumes.append({**stats, "name": volume.name})
        return volumes

    def _ephemeral(self, containers: list[Json], volumes: list[Json], log_dir: Path) -> Json | None:
        base = host.fs_stats(host.nearest_existing(self.kubelet.config.root_dir))
        if base is None:
            return None
        parts = [c.get("rootfs") for c in containers] + [c.get("logs") for c in containers] + volumes
        used = sum(int(p.get("usedBytes", 0)) for p in parts if p)
        inodes = sum(int(p.get("inodesUsed", 0)) for p in parts if p)
        return _with_usage(base, used_bytes=used, inodes_used=inodes)


def _cri_fs(filesystems: Iterable[d.FilesystemUsage]) -> Json | None:
    """The first CRI filesystem's use, on top of its mountpoint's capacity."""
    for usage in filesystems:
        mountpoint = usage.fs_id.mountpoint if usage.fs_id else ""
        base = host.fs_stats(mountpoint) if mountpoint else None
        body = base or {"time": _time(usage.timestamp)}
        _set(body, "usedBytes", usage.used_bytes)
        _set(body, "inodesUsed", usage.inodes_used)
        return body
    return None


async def summary(kubelet: Kubelet) -> Json:
    return await SummaryProvider(kubelet).summary()
