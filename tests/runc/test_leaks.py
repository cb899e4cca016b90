"""Many run → create → start → stop → remove cycles leave nothing behind.

``TINYKUBE_RUNC_LEAK_CYCLES`` sets the number of cycles (default 200, as the issue's acceptance says).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container
from tinykube.testbeds.runc_shim import BRIDGE, Layout

pytestmark = pytest.mark.integration
HOST_PORT = 39111  # exercises portmap's DNAT rules and their removal
CYCLES = int(os.environ.get("TINYKUBE_RUNC_LEAK_CYCLES", "200"))
Shim = tuple[CRIClient, RuncRuntime]


@dataclass(frozen=True)
class HostCounts:
    mounts: int
    nsfs_mounts: int
    ip_leases: int
    conmon_processes: int
    infra_processes: int
    cgroups: int
    files: int
    links: int
    nat_rules: int
    namespace_fds: int


def _namespace_fds() -> int:
    """Namespace files this process (the shim under test) holds open."""
    count = 0
    for entry in Path("/proc/self/fd").iterdir():
        try:
            count += os.readlink(entry).startswith(("net:[", "ipc:[", "uts:[", "pid:["))
        except OSError:
            continue
    return count


def _conmons(marker: str) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"conmon" in cmdline and marker.encode() in cmdline:
                count += 1
    return count


def _infra_processes(state_dir: str) -> int:
    marker = f"TINYKUBE_RUNC_STATE={state_dir}\0".encode()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes() + b"\0"
            except OSError:
                continue
            count += marker in environ
    return count


def _count_files(*roots: Path) -> int:
    return sum(len(files) + len(dirs) for root in roots for _, dirs, files in os.walk(root))


async def _run(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    return out.decode()


async def host_counts(layout: Layout, *, veths: frozenset[str] = frozenset()) -> HostCounts:
    """Leftovers on the host; ``links`` counts only ``veths`` (others' pods share the bridge)."""
    config = layout.config
    mountinfo = await asyncio.to_thread(Path("/proc/self/mountinfo").read_text)
    ours = [line for line in mountinfo.splitlines() if f" {layout.base}/" in line]
    cgroup_dir = Path("/sys/fs/cgroup/memory") / config.cgroup_parent.lstrip("/")
    return HostCounts(
        mounts=len(ours),
        nsfs_mounts=sum(1 for line in ours if " nsfs " in line),
        ip_leases=await asyncio.to_thread(lambda: len(list(layout.ipam_dir.rglob("10.211.*")))),
        conmon_processes=await asyncio.to_thread(_conmons, str(config.state_dir)),
        infra_processes=await asyncio.to_thread(_infra_processes, str(config.state_dir)),
        cgroups=await asyncio.to_thread(lambda: sum(1 for _ in cgroup_dir.rglob("*") if _.is_dir())),
        files=await asyncio.to_thread(_count_files, config.root_dir, config.state_dir),
        links=sum(
            _link_name(line) in veths
            for line in (await _run("ip", "-o", "link", "show", "master", BRIDGE)).splitlines()
        ),
        nat_rules=sum(
            layout.network_name in rule for rule in (await _run("iptables", "-t", "nat", "-S")).splitlines()
        ),
        namespace_fds=await asyncio.to_thread(_namespace_fds),
    )


def _link_name(ip_link_line: str) -> str:
    """``14268: veth2f77440f@if2: <...`` → ``veth2f77440f``."""
    return ip_link_line.split(":")[1].strip().split("@")[0]


async def host_veths(client: CRIClient, pod_id: str) -> set[str]:
    """The pod's host-side interfaces, from the CNI result in its verbose status."""
    info = json.loads((await client.pod_sandbox_status(pod_id, verbose=True)).info["info"])
    interfaces = info["cniResult"].get("interfaces", [])
    return {i["name"] for i in interfaces if not i.get("sandbox") and i["name"] != BRIDGE}


async def cycle(
    client: CRIClient,
    name: str,
    tmp_path: Path,
    *,
    while_running: Callable[[set[str]], Awaitable[None]] | None = None,
) -> set[str]:
    """One pod's life; returns the pod's host-side veth names."""
    host_port = d.PortMapping(container_port=80, host_port=HOST_PORT, host_ip="127.0.0.1")
    pod = pod_config(name, tmp_path / "logs", port_mappings=(host_port,))
    pod_id = await client.run_pod_sandbox(pod)
    veths = await host_veths(client, pod_id)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    if while_running is not None:
        await while_running(veths)
    await client.stop_container(container_id, grace_seconds=0)
    await client.remove_container(container_id)
    await client.stop_pod_sandbox(pod_id)
    await client.remove_pod_sandbox(pod_id)
    return veths


@pytest.mark.timeout(900)
async def test_cycles_leak_no_netns_mounts_leases_conmons_cgroups_or_files(
    shim: Shim, layout: Layout, tmp_path: Path
) -> None:
    client, _ = shim
    await cycle(client, "warm-up", tmp_path)  # creates the shim's long-lived directories and the bridge
    before = await host_counts(layout)

    async def counted(veths: set[str]) -> None:
        """The counters see a live pod: each leftover kind would show."""
        live = await host_counts(layout, veths=frozenset(veths))
        for kind in ("mounts", "nsfs_mounts", "ip_leases", "conmon_processes", "cgroups", "files", "links"):
            assert getattr(live, kind) > getattr(before, kind), f"a live pod adds to {kind}"
        assert live.nat_rules > before.nat_rules

    await cycle(client, "counted", tmp_path, while_running=counted)
    veths: set[str] = set()
    for index in range(CYCLES):
        veths |= await cycle(client, f"cycle{index}", tmp_path)
    assert len(veths) == CYCLES, "every pod reports its host-side veth"
    after = await host_counts(layout, veths=frozenset(veths))
    assert after == before
