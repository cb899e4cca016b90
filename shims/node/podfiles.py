"""The files every container of a pod shares: /etc/resolv.conf, /etc/hosts, /etc/hostname."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cri import domain as d

HOST_RESOLV_CONF = Path("/etc/resolv.conf")


def resolv_conf(dns: d.DNSConfig | None, *, host_text: str) -> str:
    """The pod's resolv.conf: from DNSConfig, or the host's when the config is empty."""
    if dns is None or not (dns.servers or dns.searches or dns.options):
        return host_text
    lines = [f"search {' '.join(dns.searches)}"] if dns.searches else []
    lines += [f"nameserver {server}" for server in dns.servers]
    if dns.options:
        lines.append(f"options {' '.join(dns.options)}")
    return "\n".join(lines) + "\n"


def hosts_file(hostname: str, ips: tuple[str, ...]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{ip}\t{hostname}" for ip in ips]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True, slots=True)
class PodFilePaths:
    resolv_conf: Path
    hosts: Path
    hostname: Path
    shm: Path

    @classmethod
    def under(cls, directory: Path) -> PodFilePaths:
        return cls(
            resolv_conf=directory / "resolv.conf",
            hosts=directory / "hosts",
            hostname=directory / "hostname",
            shm=directory / "shm",
        )


def write_pod_files(
    paths: PodFilePaths, config: d.PodSandboxConfig, *, hostname: str, ips: tuple[str, ...]
) -> None:
    """Blocking."""
    paths.resolv_conf.parent.mkdir(parents=True, exist_ok=True)
    try:
        host_text = HOST_RESOLV_CONF.read_text()
    except OSError:
        host_text = ""
    paths.resolv_conf.write_text(resolv_conf(config.dns_config, host_text=host_text))
    paths.hosts.write_text(hosts_file(hostname, ips))
    paths.hostname.write_text(hostname + "\n")
