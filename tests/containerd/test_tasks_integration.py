"""Containers and tasks through the containerd client: a process from an image snapshot, with the
OCI spec shims/node builds, its output on FIFOs and its exit status from Wait."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from cri import domain as d
from cri.errors import DeadlineExceeded, NotFound
from shims.containerd.client import Client, ContainerRecord, Subscribed
from shims.containerd.execsync import exec_sync
from shims.containerd.exits import OomKilled, TaskExited, task_exits
from shims.containerd.images import ContainerdImages
from shims.containerd.stdio import FifoReader, make_fifos
from shims.node.identity import ProcessUser
from shims.node.ocispec import ImageProcess, PodNamespaces, SpecInputs, build_spec

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]

BUSYBOX = "docker.io/library/busybox:1.36"
OOM_SCORE_ADJ = int(Path("/proc/self/oom_score_adj").read_text())


async def busybox_spec(
    client: Client,
    images: ContainerdImages,
    container_id: str,
    command: tuple[str, ...],
    *,
    memory_limit: int = 0,
) -> tuple[str, str, dict[str, Any]]:
    """The busybox image's ID and top snapshot, and the OCI spec shims/node builds for ``command``."""
    image_id = await images.pull_image(d.ImageSpec(image=BUSYBOX), None, None)
    image = await images.find(image_id)
    assert image is not None
    resources = d.LinuxContainerResources(memory_limit_in_bytes=memory_limit)
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name=container_id),
        image=d.ImageSpec(image=image_id),
        command=command,
        linux=d.LinuxContainerConfig(resources=resources),
    )
    spec = build_spec(
        SpecInputs(
            config=config,
            image=ImageProcess(),
            user=ProcessUser(uid=0, gid=0),
            rootfs="rootfs",
            hostname=container_id,
            namespaces=PodNamespaces(network=None, ipc=None, uts=None, pid=None),
            pod_files=None,
            cgroups_path=f"/{client.namespace}-{container_id}",
            oom_score_adj_floor=OOM_SCORE_ADJ,
        )
    )
    return image_id, image.target.chain_id, spec


async def container_running(
    client: Client,
    images: ContainerdImages,
    container_id: str,
    command: tuple[str, ...],
    *,
    memory_limit: int = 0,
) -> ContainerRecord:
    image_id, chain_id, spec = await busybox_spec(
        client, images, container_id, command, memory_limit=memory_limit
    )
    async with client.leases.held():  # the snapshot is the GC's until the record names it
        await client.snapshots.prepare(container_id, chain_id)
        return await client.containers.create(
            ContainerRecord(
                id=container_id,
                image=image_id,
                spec=spec,
                snapshotter=client.snapshots.snapshotter,
                snapshot_key=container_id,
                labels={"io.tinykube.kind": "container"},
                extensions={"io.tinykube.metadata": {"name": container_id, "attempt": 1}},
            )
        )


async def collected(reader: FifoReader) -> bytes:
    return b"".join([chunk async for chunk in reader.chunks()])


async def test_a_task_runs_writes_its_fifos_and_reports_its_exit(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    record = await container_running(client, images, "c1", ("sh", "-c", "echo out; echo err >&2; exit 3"))
    assert (await client.containers.get("c1")).extensions == record.extensions
    fifos = make_fifos(tmp_path / "io", "c1", stdin=False, terminal=False)
    assert fifos.stderr is not None
    out, err = FifoReader(fifos.stdout), FifoReader(fifos.stderr)
    mounts = await client.snapshots.mounts("c1")
    pid = await client.tasks.create("c1", fifos.stdio(), rootfs=mounts)
    assert (await client.tasks.get("c1")).status == "created"
    reading = asyncio.gather(collected(out), collected(err))
    waiting = asyncio.ensure_future(client.tasks.wait("c1"))
    assert await client.tasks.start("c1") == pid
    async with asyncio.timeout(30):
        exited = await waiting
        assert await reading == [b"out\n", b"err\n"]
    assert exited.exit_status == 3
    assert (await client.tasks.delete("c1")).exit_status == 3
    with pytest.raises(NotFound):
        await client.tasks.get("c1")


async def test_an_exec_runs_beside_the_init_process_and_kill_stops_it(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    record = await container_running(client, images, "c2", ("sleep", "600"))
    init = make_fifos(tmp_path / "io", "c2", stdin=False, terminal=False)
    assert init.stderr is not None
    init_out, init_err = FifoReader(init.stdout), FifoReader(init.stderr)
    await client.tasks.create("c2", init.stdio(), rootfs=await client.snapshots.mounts("c2"))
    await client.tasks.start("c2")
    execs = make_fifos(tmp_path / "io", "c2-exec", stdin=False, terminal=False)
    assert execs.stderr is not None
    exec_out, exec_err = FifoReader(execs.stdout), FifoReader(execs.stderr)
    process = {**record.spec["process"], "args": ["sh", "-c", "echo from exec; exit 4"]}
    await client.tasks.exec("c2", "e1", process, execs.stdio())
    waiting = asyncio.ensure_future(client.tasks.wait("c2", "e1"))
    await client.tasks.start("c2", "e1")
    async with asyncio.timeout(30):
        assert await collected(exec_out) == b"from exec\n"
        assert await collected(exec_err) == b""
        assert (await waiting).exit_status == 4
    await client.tasks.delete_process("c2", "e1")
    assert (await client.tasks.get("c2")).status == "running"
    await client.tasks.kill("c2", signal.SIGKILL)
    async with asyncio.timeout(30):
        assert (await client.tasks.wait("c2")).exit_status == 128 + signal.SIGKILL
        assert await collected(init_out) == b""
        assert await collected(init_err) == b""
    await client.tasks.delete("c2")


async def started(client: Client, container_id: str, directory: Path) -> tuple[FifoReader, FifoReader]:
    """Its stdout and stderr readers (every FIFO needs a reader before Tasks.Create)."""
    fifos = make_fifos(directory, container_id, stdin=False, terminal=False)
    assert fifos.stderr is not None
    outputs = FifoReader(fifos.stdout), FifoReader(fifos.stderr)
    await client.tasks.create(container_id, fifos.stdio(), rootfs=await client.snapshots.mounts(container_id))
    await client.tasks.start(container_id)
    return outputs


async def test_exits_are_reported_from_events_and_from_before_the_subscription(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    await container_running(client, images, "early", ("sh", "-c", "exit 5"))
    await container_running(client, images, "late", ("sh", "-c", "read line; exit 6"))
    await started(client, "early", tmp_path)
    async with asyncio.timeout(30):
        await client.tasks.wait("early")
    fifos = make_fifos(tmp_path, "late", stdin=True, terminal=False)
    assert fifos.stdin is not None
    assert fifos.stderr is not None
    outputs = FifoReader(fifos.stdout), FifoReader(fifos.stderr)
    await client.tasks.create("late", fifos.stdio(), rootfs=await client.snapshots.mounts("late"))
    exits = task_exits(client)
    try:
        async with asyncio.timeout(30):
            first = await anext(exits)  # reported at subscription: it exited before
            assert isinstance(await anext(exits), Subscribed)
            await client.tasks.start("late")
            stdin = await asyncio.to_thread(os.open, fifos.stdin, os.O_WRONLY)
            os.write(stdin, b"go\n")
            os.close(stdin)
            second = await anext(exits)
    finally:
        await exits.aclose()
        for output in outputs:
            output.close()
    assert isinstance(first, TaskExited) and isinstance(second, TaskExited)
    assert (first.container_id, first.exit_status, first.oom_killed) == ("early", 5, False)
    assert (second.container_id, second.exec_id, second.exit_status) == ("late", "", 6)


def _has_exit(reported: list[object]) -> bool:
    return any(isinstance(item, TaskExited) for item in reported)


async def test_an_oom_kill_is_reported_with_the_exit(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    hog = ("sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived")
    await container_running(client, images, "hog", hog, memory_limit=32 * 1024 * 1024)
    exits = task_exits(client)
    try:
        async with asyncio.timeout(60):
            assert isinstance(await anext(exits), Subscribed)
            output, errors = await started(client, "hog", tmp_path)
            # containerd orders TaskOOM and TaskExit either way, and sends a TaskOOM per kill
            reported = [await anext(exits)]
            while not (_has_exit(reported) and OomKilled(container_id="hog") in reported):
                reported.append(await anext(exits))
    finally:
        await exits.aclose()
    exited = next(item for item in reported if isinstance(item, TaskExited))
    assert exited.container_id == "hog"
    assert exited.oom_killed or reported[-1] == OomKilled(container_id="hog")
    assert await collected(output) == b""
    errors.close()


async def test_exec_sync_answers_output_and_exit_and_times_out(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    record = await container_running(client, images, "c3", ("sleep", "600"))
    outputs = await started(client, "c3", tmp_path)
    run = functools.partial(exec_sync, client, "c3", record.spec, fifo_dir=tmp_path / "execs")
    result = await run(("sh", "-c", "echo out; echo err >&2; exit 7"), timeout=30)
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 7)
    background = await run(("sh", "-c", "sleep 600 & echo started"), timeout=30)
    assert (background.stdout, background.exit_code) == (b"started\n", 0)
    with pytest.raises(DeadlineExceeded, match="timed out after 1s"):
        await run(("sleep", "600"), timeout=1)
    assert sorted(path.name for path in (tmp_path / "execs").iterdir()) == []
    await client.tasks.kill("c3", signal.SIGKILL, every_process=True)
    for output in outputs:
        output.close()
