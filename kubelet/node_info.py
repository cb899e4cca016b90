"""What a Node says about its host: capacity, allocatable, nodeInfo, addresses and labels."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from api.meta.quantity import parse_quantity
from api.openapi import KUBERNETES_VERSION
from cri.domain.runtime import RuntimeVersion
from kubelet.config import KubeletConfiguration
from kubelet.host_stats import PROC, meminfo

Json = dict[str, Any]
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _first_line(path: Path) -> str:
    try:
        return path.read_text().strip().splitlines()[0]
    except (OSError, IndexError):
        return ""


def _os_image() -> str:
    try:
        lines = Path("/etc/os-release").read_text().splitlines()
    except OSError:
        return "Linux"
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return values.get("PRETTY_NAME", "Linux").strip('"')


def architecture() -> str:
    machine = platform.machine()
    return _ARCH.get(machine, machine)


def host_capacity(config: KubeletConfiguration) -> dict[str, str]:
    """The host's resources as the kubelet reports them: cores, memory in Ki, pods, root disk."""
    memory = meminfo().get("MemTotal", 0)
    try:
        disk = os.statvfs(_existing(Path(config.root_dir)))
        storage = disk.f_blocks * disk.f_frsize
    except OSError:
        storage = 0
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory // 1024}Ki",
        "ephemeral-storage": f"{storage // 1024}Ki",
        "pods": str(config.max_pods),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    }


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _format(name: str, value: Fraction) -> str:
    value = max(value, Fraction(0))
    if name == "cpu":
        millis = int(value * 1000)
        return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
    whole = int(value)
    return f"{whole // 1024}Ki" if whole % 1024 == 0 and whole else str(whole)


def allocatable(capacity: Mapping[str, str], *reserved: Mapping[str, str]) -> dict[str, str]:
    """Capacity minus every reservation (kubeReserved, systemReserved), never below zero."""
    result: dict[str, str] = {}
    for name, total in capacity.items():
        taken = sum((parse_quantity(r[name]) for r in reserved if name in r), Fraction(0))
        result[name] = _format(name, parse_quantity(total) - taken) if taken else total
    return result


def node_info(version: RuntimeVersion) -> Json:
    uname = os.uname()
    return {
        "machineID": _first_line(Path("/etc/machine-id")),
        "systemUUID": _first_line(Path("/sys/class/dmi/id/product_uuid"))
        or _first_line(Path("/etc/machine-id")),
        "bootID": _first_line(PROC / "sys/kernel/random/boot_id"),
        "kernelVersion": uname.release,
        "osImage": _os_image(),
        "containerRuntimeVersion": f"{version.runtime_name}://{version.runtime_version}",
        "kubeletVersion": f"{KUBERNETES_VERSION}+tinykube",
        "kubeProxyVersion": "",
        "operatingSystem": "linux",
        "architecture": architecture(),
    }


def hostname() -> str:
    return socket.gethostname().lower()


@dataclass(frozen=True, kw_only=True)
class NodeFacts:
    """What does not change while the kubelet runs: the Node's identity and resources."""

    name: str
    host_ip: str
    hostname: str
    port: int
    capacity: Mapping[str, str]
    allocatable: Mapping[str, str]
    info: Mapping[str, str]
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, str], ...]

    @classmethod
    def gather(
        cls, config: KubeletConfiguration, version: RuntimeVersion, *, name: str, host_ip: str
    ) -> NodeFacts:
        capacity = host_capacity(config)
        return cls(
            name=name,
            host_ip=host_ip,
            hostname=hostname(),
            port=config.port,
            capacity=capacity,
            allocatable=allocatable(capacity, config.kube_reserved, config.system_reserved),
            info=node_info(version),
            labels={
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": architecture(),
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": architecture(),
                **config.node_labels,
            },
            taints=tuple(config.register_with_taints),
        )

    def addresses(self) -> list[Json]:
        return [
            {"type": "InternalIP", "address": self.host_ip},
            {"type": "Hostname", "address": self.hostname},
        ]
