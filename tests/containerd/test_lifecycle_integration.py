"""A container's life through shims.containerd.lifecycle: output into its CRI log, stop with the
stop signal then SIGKILL, removal that leaves nothing in containerd."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from cri import crilog
from cri import domain as d
from shims.containerd import lifecycle
from shims.containerd.client import Client
from shims.containerd.images import ContainerdImages
from tests.containerd.polling import until
from tests.containerd.test_tasks_integration import busybox_spec

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]


async def created(
    client: Client, images: ContainerdImages, container_id: str, command: tuple[str, ...]
) -> None:
    image_id, chain_id, spec = await busybox_spec(client, images, container_id, command)
    await lifecycle.create(
        client,
        lifecycle.ContainerSpec(container_id=container_id, image_id=image_id, chain_id=chain_id, spec=spec),
    )


async def test_output_lands_in_the_cri_log_and_removal_leaves_nothing(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    await created(client, images, "c1", ("sh", "-c", "echo one; echo two >&2; printf three"))
    log_path = tmp_path / "logs" / "c1" / "0.log"
    started = await lifecycle.start(client, "c1", fifo_dir=tmp_path / "fifos", log_path=log_path, tty=False)
    async with asyncio.timeout(30):
        await started.copy
        assert (await client.tasks.wait("c1")).exit_status == 0
    lines = [(r.stream, r.partial, r.content) for r in crilog.records(log_path.read_bytes().splitlines())]
    assert sorted(lines) == sorted(
        [("stdout", False, b"one"), ("stderr", False, b"two"), ("stdout", True, b"three")]
    )
    await lifecycle.remove(client, "c1", fifos=started.fifos)
    await lifecycle.remove(client, "c1")  # twice is fine
    assert await client.containers.list() == []
    assert [s for s in await client.snapshots.list() if s.kind == "active"] == []
    assert list((tmp_path / "fifos").iterdir()) == []


async def test_stop_sends_the_stop_signal_then_sigkill_after_the_timeout(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    await created(
        client, images, "stubborn", ("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done")
    )
    await created(
        client, images, "polite", ("sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 1; done")
    )
    starts = [
        await lifecycle.start(client, name, fifo_dir=tmp_path, log_path=tmp_path / f"{name}.log", tty=False)
        for name in ("stubborn", "polite")
    ]
    async with asyncio.TaskGroup() as copies, asyncio.timeout(60):
        for started in starts:
            copies.create_task(started.copy)
        for name in ("stubborn", "polite"):  # the traps are set
            await until(lambda name=name: b"ready" in (tmp_path / f"{name}.log").read_bytes())
        await lifecycle.stop(client, "stubborn", stop_signal=signal.SIGTERM, timeout=1)
        await lifecycle.stop(client, "polite", stop_signal=signal.SIGTERM, timeout=30)
        await lifecycle.stop(client, "polite", stop_signal=signal.SIGTERM, timeout=30)  # stopped already
    assert (await client.tasks.get("stubborn")).exit_status == 128 + signal.SIGKILL
    assert (await client.tasks.get("polite")).exit_status == 42
    for name, started in zip(("stubborn", "polite"), starts, strict=True):
        await lifecycle.remove(client, name, fifos=started.fifos)


async def test_resources_of_a_running_container_are_updated_in_its_cgroup(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    await created(client, images, "sized", ("sleep", "600"))
    started = await lifecycle.start(client, "sized", fifo_dir=tmp_path, log_path=None, tty=False)
    copying = asyncio.ensure_future(started.copy)
    resources = d.LinuxContainerResources(memory_limit_in_bytes=64 * 1024 * 1024, cpu_shares=512)
    await lifecycle.update_resources(client, "sized", resources)
    cgroup = f"{client.namespace}-sized"
    memory = Path("/sys/fs/cgroup/memory") / cgroup / "memory.limit_in_bytes"
    shares = Path("/sys/fs/cgroup/cpu") / cgroup / "cpu.shares"
    assert int(await asyncio.to_thread(memory.read_text)) == 64 * 1024 * 1024
    assert int(await asyncio.to_thread(shares.read_text)) == 512
    await lifecycle.remove(client, "sized", fifos=started.fifos)
    async with asyncio.timeout(30):
        await copying
