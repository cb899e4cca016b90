"""The PodSandboxConfig the kubelet builds for a pod (generatePodSandboxConfig)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.core.v1.pods import annotations_of, pod_name, pod_namespace, pod_spec, pod_uid
from api.model.core_v1 import Pod
from cri import domain as d
from kubelet import labels as lbl
from kubelet.security import sandbox_security_context

_PROTOCOLS = {"TCP": d.Protocol.TCP, "UDP": d.Protocol.UDP, "SCTP": d.Protocol.SCTP}
HOST_RESOLV_CONF = Path("/etc/resolv.conf")


@dataclass(frozen=True, kw_only=True)
class NodeSettings:
    """Node-wide inputs to sandbox and container configs."""

    node_name: str
    pod_logs_dir: str = "/var/log/pods"
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = ""
    cgroup_driver: str = "cgroupfs"
    host_ip: str = "127.0.0.1"


def pod_log_directory(pod: Pod, settings: NodeSettings) -> str:
    return f"{settings.pod_logs_dir}/{pod_namespace(pod)}_{pod_name(pod)}_{pod_uid(pod)}"


def cgroup_parent(pod: Pod, settings: NodeSettings, qos: str) -> str:
    """The pod's cgroup under kubepods, named the way the kubelet's cgroup manager names it."""
    uid = pod_uid(pod).replace("-", "_") if settings.cgroup_driver == "systemd" else pod_uid(pod)
    tier = "" if qos == "Guaranteed" else qos.lower()
    if settings.cgroup_driver == "systemd":
        parent = "kubepods" + (f"-{tier}" if tier else "")
        return f"{parent}-pod{uid}.slice"
    return "/kubepods" + (f"/{tier}" if tier else "") + f"/pod{uid}"


def _host_dns() -> d.DNSConfig:
    servers, searches, options = [], [], []
    try:
        lines = HOST_RESOLV_CONF.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            servers.append(words[1])
        elif words and words[0] == "search":
            searches = words[1:]
        elif words and words[0] == "options":
            options += words[1:]
    return d.DNSConfig(servers=tuple(servers), searches=tuple(searches), options=tuple(options))


def dns_config(pod: Pod, settings: NodeSettings) -> d.DNSConfig:
    policy = pod_spec(pod).dns_policy
    host_network = bool(pod_spec(pod).host_network)
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network):
        use_cluster = bool(settings.cluster_dns)
    else:
        use_cluster = False
    if policy == "None":
        base = d.DNSConfig()
    elif use_cluster:
        domain = settings.cluster_domain
        searches = [f"{pod_namespace(pod)}.svc.{domain}", f"svc.{domain}", domain] if domain else []
        base = d.DNSConfig(servers=settings.cluster_dns, searches=tuple(searches), options=("ndots:5",))
    else:
        base = _host_dns()
    extra = pod_spec(pod).dns_config
    if extra is None:
        return base
    options = list(base.options) + [
        f"{o.name}:{o.value}" if o.value else (o.name or "") for o in extra.options or ()
    ]
    return d.DNSConfig(
        servers=tuple(dict.fromkeys([*base.servers, *(extra.nameservers or ())])),
        searches=tuple(dict.fromkeys([*base.searches, *(extra.searches or ())])),
        options=tuple(dict.fromkeys(options)),
    )


def port_mappings(pod: Pod) -> tuple[d.PortMapping, ...]:
    return tuple(
        d.PortMapping(
            protocol=_PROTOCOLS[port.protocol or "TCP"],
            container_port=port.container_port,
            host_port=port.host_port or 0,
            host_ip=port.host_ip or "",
        )
        for container in pod_spec(pod).containers
        for port in container.ports or ()
    )


def hostname(pod: Pod, settings: NodeSettings) -> str:
    if pod_spec(pod).host_network:
        return settings.node_name
    return (pod_spec(pod).hostname or pod_name(pod))[:63].rstrip("-.")


def _sysctls(pod: Pod) -> dict[str, str]:
    context = pod_spec(pod).security_context
    return {s.name: s.value for s in (context.sysctls if context else None) or ()}


def sandbox_config(pod: Pod, settings: NodeSettings, *, attempt: int, qos: str) -> d.PodSandboxConfig:
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(
            name=pod_name(pod), uid=pod_uid(pod), namespace=pod_namespace(pod), attempt=attempt
        ),
        hostname=hostname(pod, settings),
        log_directory=pod_log_directory(pod, settings),
        dns_config=dns_config(pod, settings),
        port_mappings=port_mappings(pod),
        labels=lbl.sandbox_labels(pod),
        annotations=dict(annotations_of(pod)),
        linux=d.LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent(pod, settings, qos),
            security_context=sandbox_security_context(pod),
            sysctls=_sysctls(pod),
        ),
    )
