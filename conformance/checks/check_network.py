"""Pod networking: hostname, DNS config, sysctls, pod IP reachability, pod-to-pod, port mappings."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import images
from conformance.checks.helpers import free_port, http_get, sh
from conformance.workspace import Pod, Workspace, wait_for
from cri import domain as d
from cri.errors import DeadlineExceeded, Unknown

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]


async def _web_pod(ws: Workspace, **kwargs: Any) -> tuple[Pod, str]:
    pod = await ws.run_pod(**kwargs)
    await ws.start(pod, name="web", image=images.WEB, command=())
    network = (await ws.sandbox_status(pod.id)).network
    assert network is not None and network.ip, "the pod has no IP"
    return pod, network.ip


async def test_hostname(ws: Workspace) -> None:
    """The sandbox hostname is the container's hostname: pods see their own name (spec.hostname)."""
    pod = await ws.run_pod(hostname="tk-host-probe")
    assert await sh(ws.cri, await ws.start(pod), "hostname") == "tk-host-probe"


async def test_dns_servers(ws: Workspace) -> None:
    """dns_config servers are written to /etc/resolv.conf: pods resolve through cluster DNS."""
    pod = await ws.run_pod(dns=d.DNSConfig(servers=("10.211.0.10",)))
    assert "nameserver 10.211.0.10" in await sh(ws.cri, await ws.start(pod), "cat /etc/resolv.conf")


async def test_dns_searches(ws: Workspace) -> None:
    """dns_config searches are written to resolv.conf: short service names resolve."""
    pod = await ws.run_pod(
        dns=d.DNSConfig(servers=("10.211.0.10",), searches=("ns.svc.cluster.local", "svc"))
    )
    text = await sh(ws.cri, await ws.start(pod), "cat /etc/resolv.conf")
    assert "search ns.svc.cluster.local svc" in text


async def test_dns_options(ws: Workspace) -> None:
    """dns_config options are written to resolv.conf: pods set ndots:5 this way."""
    pod = await ws.run_pod(dns=d.DNSConfig(servers=("10.211.0.10",), options=("ndots:5",)))
    assert "options ndots:5" in await sh(ws.cri, await ws.start(pod), "cat /etc/resolv.conf")


async def test_safe_sysctl(ws: Workspace) -> None:
    """A safe sysctl (kernel.shm_rmid_forced) is applied to the pod: spec.securityContext.sysctls."""
    pod = await ws.run_pod(linux=d.LinuxPodSandboxConfig(sysctls={"kernel.shm_rmid_forced": "1"}))
    assert await sh(ws.cri, await ws.start(pod), "cat /proc/sys/kernel/shm_rmid_forced") == "1"


async def test_net_sysctl(ws: Workspace) -> None:
    """A namespaced net sysctl is applied inside the pod only: ip_unprivileged_port_start is common."""
    sysctl, path = (
        "net.ipv4.ip_unprivileged_port_start",
        Path("/proc/sys/net/ipv4/ip_unprivileged_port_start"),
    )
    pod = await ws.run_pod(linux=d.LinuxPodSandboxConfig(sysctls={sysctl: "42"}))
    assert await sh(ws.cri, await ws.start(pod), f"cat {path}") == "42"
    assert (await asyncio.to_thread(path.read_text)).strip() != "42"  # the host's own value is untouched


@pytest.mark.needs("network")
async def test_pod_ip_is_containers_address(ws: Workspace) -> None:
    """The reported pod IP is the address of the pod's interface: services route to it."""
    pod = await ws.run_pod()
    container_id = await ws.start(pod)
    network = (await ws.sandbox_status(pod.id)).network
    assert network is not None and network.ip in await sh(ws.cri, container_id, "ip -o -4 addr")


@pytest.mark.needs("network")
async def test_pod_ip_reachable_from_host(ws: Workspace) -> None:
    """The pod IP is reachable from the host: the kubelet's HTTP probes connect to it."""
    _, ip = await _web_pod(ws)
    reply = await wait_for(f"HTTP from {ip}:80", lambda: http_get(ip, images.WEB_PORT))
    assert images.WEB_BODY in reply


def _fetcher(ws: Workspace, container_id: str, url: str) -> Callable[[], Awaitable[str | None]]:
    """An HTTP GET from inside a container: the body, or None while the server is not reachable yet."""

    async def fetched() -> str | None:
        try:
            result = await ws.cri.exec_sync(container_id, ["wget", "-qO-", url], exec_timeout=10)
        except (DeadlineExceeded, Unknown):  # a hung wget (containerd 1.6 says UNKNOWN): ask again
            return None
        return result.stdout.decode() if result.exit_code == 0 else None

    return fetched


@pytest.mark.needs("network")
async def test_pod_to_pod(ws: Workspace) -> None:
    """One pod reaches another pod's IP: the flat pod network Kubernetes assumes."""
    _, ip = await _web_pod(ws)
    client = await ws.start(await ws.run_pod())

    fetched = _fetcher(ws, client, f"http://{ip}/")
    assert images.WEB_BODY in await wait_for(f"pod-to-pod HTTP to {ip}", fetched)


@pytest.mark.needs("network")
async def test_localhost_within_pod(ws: Workspace) -> None:
    """Containers of one pod reach each other on localhost: sidecars depend on it."""
    pod, _ = await _web_pod(ws)
    client = await ws.start(pod, name="client")

    fetched = _fetcher(ws, client, "http://127.0.0.1/")
    assert images.WEB_BODY in await wait_for("HTTP on the pod's localhost", fetched)


@pytest.mark.needs("network")
async def test_host_port_mapping(ws: Workspace) -> None:
    """A port mapping publishes the pod port on the host: hostPort pods are reached through it."""
    port = free_port()
    mapping = d.PortMapping(container_port=images.WEB_PORT, host_port=port, host_ip="127.0.0.1")
    await _web_pod(ws, ports=(mapping,))
    reply = await wait_for(f"HTTP on 127.0.0.1:{port}", lambda: http_get("127.0.0.1", port))
    assert images.WEB_BODY in reply


@pytest.mark.needs("network")
async def test_host_network_pod_has_no_pod_ip_of_its_own(ws: Workspace) -> None:
    """A host-network pod shares the host's network: its containers see the host's interfaces."""
    import os

    options = d.NamespaceOption(network=d.NamespaceMode.NODE, pid=d.NamespaceMode.CONTAINER)
    sec = d.LinuxSandboxSecurityContext(namespace_options=options)
    pod = await ws.run_pod(linux=d.LinuxPodSandboxConfig(security_context=sec))
    from conformance.pod import security

    container_id = await ws.start(pod, linux=security(namespace_options=options))
    assert await sh(ws.cri, container_id, "readlink /proc/self/ns/net") == os.readlink("/proc/self/ns/net")


@pytest.mark.needs("network")
async def test_stopped_pod_unreachable(ws: Workspace) -> None:
    """After StopPodSandbox its IP no longer answers: the network is released (CNI DEL)."""
    pod, ip = await _web_pod(ws)
    await wait_for(f"HTTP from {ip}:80", lambda: http_get(ip, images.WEB_PORT))
    await ws.cri.stop_pod_sandbox(pod.id)
    assert await http_get(ip, images.WEB_PORT) is None
