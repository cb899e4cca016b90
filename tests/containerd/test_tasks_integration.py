"""Containers and tasks through the containerd client: a process from an image snapshot, with the
OCI spec shims/node builds, its output on FIFOs and its exit status from Wait."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from cri import domain as d
from cri.errors import FailedPrecondition, NotFound
from shims.containerd.client import Client, ContainerRecord
from shims.containerd.images import ContainerdImages
from shims.containerd.stdio import FifoReader, make_fifos
from shims.node.identity import ProcessUser
from shims.node.ocispec import ImageProcess, PodNamespaces, SpecInputs, build_spec

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]

BUSYBOX = "docker.io/library/busybox:1.36"
OOM_SCORE_ADJ = int(Path("/proc/self/oom_score_adj").read_text())


async def container_running(
    client: Client, images: ContainerdImages, container_id: str, command: tuple[str, ...]
) -> ContainerRecord:
    image_id = await images.pull_image(d.ImageSpec(image=BUSYBOX), None, None)
    image = await images.find(image_id)
    assert image is not None
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name=container_id), image=d.ImageSpec(image=image_id), command=command
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
    await client.snapshots.prepare(container_id, image.target.chain_id)
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
    init_out = FifoReader(init.stdout)
    await client.tasks.create("c2", init.stdio(), rootfs=await client.snapshots.mounts("c2"))
    await client.tasks.start("c2")
    execs = make_fifos(tmp_path / "io", "c2-exec", stdin=False, terminal=False)
    exec_out = FifoReader(execs.stdout)
    process = {**record.spec["process"], "args": ["sh", "-c", "echo from exec; exit 4"]}
    await client.tasks.exec("c2", "e1", process, execs.stdio())
    waiting = asyncio.ensure_future(client.tasks.wait("c2", "e1"))
    await client.tasks.start("c2", "e1")
    async with asyncio.timeout(30):
        assert await collected(exec_out) == b"from exec\n"
        assert (await waiting).exit_status == 4
    await client.tasks.delete_process("c2", "e1")
    with pytest.raises(FailedPrecondition):
        await client.tasks.delete("c2")  # still running
    await client.tasks.kill("c2", signal.SIGKILL)
    async with asyncio.timeout(30):
        assert (await client.tasks.wait("c2")).exit_status == 128 + signal.SIGKILL
        assert await collected(init_out) == b""
    await client.tasks.delete("c2")
