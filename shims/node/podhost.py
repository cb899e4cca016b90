"""What a pod sandbox holds on the host, for any engine-backed shim: pinned namespaces, /dev/shm,
an infra process, the CNI attachment and the pod files, set up and torn down in order.

The shim keeps the record; each step here returns what it made, so the shim can save it before
the next step (a sandbox record before its netns, ``network_attached`` before CNI ADD).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cri import domain as d
from shims.node import cgroups, cni, infra, mounts, namespaces
from shims.node.infra import InfraProcess
from shims.node.podfiles import PodFilePaths, write_pod_files

log = logging.getLogger(__name__)
INFRA_EXIT_TIMEOUT = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class PodPins:
    """The pinned namespace files of a pod (empty: the node's namespace)."""

    netns: str = ""
    ipc_ns: str = ""
    uts_ns: str = ""

    @classmethod
    def planned(cls, directory: Path, options: d.NamespaceOption) -> PodPins:
        """Where a pod's namespaces will be pinned: a network, IPC and UTS of its own unless NODE."""
        node = d.NamespaceMode.NODE
        return cls(
            netns=str(directory / "ns" / "net") if options.network != node else "",
            ipc_ns=str(directory / "ns" / "ipc") if options.ipc != node else "",
            uts_ns=str(directory / "ns" / "uts") if options.network != node else "",
        )

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(Path(p) for p in (self.netns, self.ipc_ns, self.uts_ns) if p)


@dataclass(frozen=True, kw_only=True, slots=True)
class Attached:
    ips: tuple[str, ...]
    cni_result: Mapping[str, Any]


class PodHost:
    """Sets up and tears down the host side of pod sandboxes under ``<directory>`` of each."""

    def __init__(
        self,
        *,
        cni_conf_dir: Path,
        cni_bin_dirs: tuple[Path, ...],
        pause_binary: Path,
        cni_timeout: float = cni.PLUGIN_TIMEOUT_SECONDS,
    ) -> None:
        self.cni_conf_dir = cni_conf_dir
        self.cni_bin_dirs = cni_bin_dirs
        self.cni_timeout = cni_timeout
        self.pause_binary = pause_binary
        self._infra_launchers: dict[str, asyncio.subprocess.Process] = {}

    def network(self) -> cni.NetworkList | None:
        """Blocking: the CNI network in effect, if one is configured."""
        return cni.find_network(self.cni_conf_dir)

    async def pin(self, directory: Path, pins: PodPins, *, hostname: str) -> None:
        """The pod's namespaces pinned under ``directory/ns``, and its own /dev/shm with its IPC namespace."""
        if pins.paths:
            await namespaces.pin(
                directory / "ns",
                network=bool(pins.netns),
                ipc=bool(pins.ipc_ns),
                uts=bool(pins.uts_ns),
                hostname=hostname,
            )
        if pins.ipc_ns:
            await asyncio.to_thread(mounts.mount_shm, PodFilePaths.under(directory).shm)

    async def start_infra(self, sandbox_id: str, *, owner: Mapping[str, str]) -> InfraProcess:
        """The pod's infra process (holder of its PID namespace); ``owner`` tags its environment."""
        started = await infra.start(self.pause_binary, environment=owner)
        self._infra_launchers[sandbox_id] = started.launcher
        return started.process

    async def attach(
        self, network: cni.NetworkList, sandbox_id: str, config: d.PodSandboxConfig, *, netns: str
    ) -> Attached:
        attachment = _attachment(sandbox_id, config, netns)
        result = await cni.add(network, attachment, bin_dirs=self.cni_bin_dirs, timeout=self.cni_timeout)
        return Attached(ips=result.ips, cni_result=dict(result.raw))

    async def write_files(
        self, directory: Path, config: d.PodSandboxConfig, *, hostname: str, ips: tuple[str, ...]
    ) -> None:
        await asyncio.to_thread(
            write_pod_files, PodFilePaths.under(directory), config, hostname=hostname, ips=ips
        )

    async def stop_infra(self, sandbox_id: str, process: InfraProcess | None) -> None:
        if process is not None:
            infra.stop(process)
        launcher = self._infra_launchers.pop(sandbox_id, None)
        if launcher is not None:
            await asyncio.wait_for(launcher.wait(), INFRA_EXIT_TIMEOUT)

    async def detach(
        self, sandbox_id: str, config: d.PodSandboxConfig, *, netns: str, cni_result: Mapping[str, Any]
    ) -> None:
        """CNI DEL, also when the netns is gone (the address is released); a failure is logged."""
        network = await asyncio.to_thread(self.network)
        if network is None:
            return
        alive = await asyncio.to_thread(namespaces.is_mountpoint, Path(netns))
        if not alive:
            log.warning("sandbox %s: its netns is gone; CNI DEL releases the address only", sandbox_id)
        try:
            await cni.delete(
                network,
                _attachment(sandbox_id, config, netns if alive else ""),
                bin_dirs=self.cni_bin_dirs,
                prev_result=cni_result or None,
                timeout=self.cni_timeout,
            )
        except cni.CNIError as exc:
            log.warning("CNI DEL failed for sandbox %s: %s", sandbox_id, exc.message)

    async def release_lost(self, sandbox_id: str, *, owner: Mapping[str, str], cgroup: str) -> None:
        """For a sandbox whose record is gone: its tagged infra processes, CNI address and ``cgroup``.

        Its pins and files are under its directory, which the caller unmounts and removes.
        """
        for process in await asyncio.to_thread(infra.tagged, owner):
            infra.stop(process)
        network = await asyncio.to_thread(self.network)
        if network is not None:
            try:
                attachment = _attachment(sandbox_id, _UNKNOWN_POD, "")
                await cni.delete(
                    network,
                    attachment,
                    bin_dirs=self.cni_bin_dirs,
                    prev_result=None,
                    timeout=self.cni_timeout,
                )
            except cni.CNIError as exc:
                log.warning("CNI DEL failed for lost sandbox %s: %s", sandbox_id, exc.message)
        await asyncio.to_thread(cgroups.remove, cgroup)

    async def unpin(self, directory: Path, pins: PodPins) -> None:
        await asyncio.to_thread(namespaces.unpin_paths, pins.paths)
        await asyncio.to_thread(namespaces.unmount, PodFilePaths.under(directory).shm)

    async def remove(self, directory: Path, *, own_cgroup: str) -> None:
        """The pod's directory, and its cgroup when the shim made it (not the kubelet's pod cgroup)."""
        await asyncio.to_thread(shutil.rmtree, directory, True)
        if own_cgroup:
            await asyncio.to_thread(cgroups.remove, own_cgroup)


_UNKNOWN_POD = d.PodSandboxConfig(metadata=d.PodSandboxMetadata())


def _attachment(sandbox_id: str, config: d.PodSandboxConfig, netns: str) -> cni.Attachment:
    meta = config.metadata
    assert meta is not None  # the servicer guarantees it
    return cni.Attachment(
        container_id=sandbox_id,
        netns=netns,
        pod_name=meta.name,
        pod_namespace=meta.namespace,
        port_mappings=config.port_mappings,
        dns=config.dns_config,
    )
