"""Pod networking seen from the host: host ports on 127.0.0.1, and the pod's DNS/hosts files."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container, wait_until

pytestmark = pytest.mark.integration
Shim = tuple[CRIClient, RuncRuntime]
HTTPD = "mkdir -p /www && echo hello-host > /www/index.html && httpd -f -p 8080 -h /www"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def http_get(port: int) -> bytes:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    except (OSError, TimeoutError):
        return b""
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        return await asyncio.wait_for(reader.read(), 5)
    except (OSError, TimeoutError):
        return b""
    finally:
        writer.close()


async def test_host_reaches_a_pod_host_port_on_loopback(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    port = free_port()
    mapping = d.PortMapping(container_port=8080, host_port=port, host_ip="127.0.0.1")
    pod = pod_config("hostport", tmp_path / "logs", port_mappings=(mapping,))
    pod_id = await client.run_pod_sandbox(pod)
    await run_container(client, pod_id, pod, container_config("web", "sh", "-c", HTTPD))

    async def answered() -> bool:
        return (await http_get(port)).endswith(b"hello-host\n")

    await wait_until(answered, what=f"127.0.0.1:{port} to answer from the pod")
    await client.remove_pod_sandbox(pod_id)
    assert await http_get(port) == b""


async def test_hostname_dns_and_hosts_inside_the_pod(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    base = pod_config("dns", tmp_path / "logs")
    dns = d.DNSConfig(servers=("10.211.255.10",), searches=("ns.svc.cluster.local",), options=("ndots:5",))
    pod = dataclasses.replace(base, dns_config=dns)
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    result = await client.exec_sync(
        container_id, ["sh", "-c", "hostname; cat /etc/resolv.conf; cat /etc/hosts"], exec_timeout=10
    )
    lines = result.stdout.decode().splitlines()
    status = (await client.pod_sandbox_status(pod_id)).status
    assert status is not None and status.network is not None
    assert lines[0] == "dns"
    assert lines[1:4] == ["search ns.svc.cluster.local", "nameserver 10.211.255.10", "options ndots:5"]
    assert f"{status.network.ip}\tdns" in lines
