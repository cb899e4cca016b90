"""Log rotation of a real, continuously writing container through containerd's ReopenContainerLog."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.core.v1.manifest import load_pod
from cri import crilog
from cri import domain as d
from kubelet.log_files import LogManager
from kubelet.runtime_view import RuntimeContainer, RuntimePod
from tests.kubelet_probes.realpod import eventually, host_network_pod

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]
MAX_BYTES = 8 * 1024
MAX_FILES = 3
ROTATIONS = 5
WAIT_S = 30.0
COUNTER = 'i=0; while :; do i=$((i+1)); echo "line $i"; usleep 2000; done'


def size_of(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def numbers(paths: list[Path]) -> Iterator[int]:
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as source:
            for record in crilog.records(source):
                yield int(record.content.split()[1])


async def test_rotation_of_a_writing_container_keeps_max_files_and_every_recent_line(tmp_path: Path) -> None:
    async with host_network_pod(tmp_path / "pod-logs") as pod:
        container_id = await pod.start("counter", "sh", "-c", COUNTER)
        status = await pod.client.container_status(container_id)
        log = Path(status.status.log_path if status.status else "")
        manager = LogManager(
            pod.client, containers_dir=tmp_path / "containers", max_bytes=MAX_BYTES, max_files=MAX_FILES
        )
        rotations, last_second = 0, 0
        async with asyncio.timeout(WAIT_S):
            while rotations < ROTATIONS:
                await asyncio.sleep(0.05)  # polling the file size, not synchronising on it
                # Rotated names have one-second resolution (as the kubelet's): the kubelet's loop
                # rotates a container at most every 10 s; never twice within one second here.
                if int(time.time()) == last_second:
                    continue
                if await manager.rotate_if_needed(container_id, str(log)):
                    rotations, last_second = rotations + 1, int(time.time())
        await pod.client.stop_container(container_id, grace_seconds=0)
        rotated = sorted(p for p in log.parent.iterdir() if p.name.startswith(log.name + "."))
        assert len(rotated) == MAX_FILES - 1
        assert [p.suffix == ".gz" for p in rotated] == [True, False]
        seen = list(numbers([*rotated, log]))
        assert seen == list(range(seen[0], seen[-1] + 1)), "a line was lost or duplicated across rotations"
        assert seen[-1] > seen[0]


async def test_symlink_in_var_log_containers_points_at_the_runtime_log(tmp_path: Path) -> None:
    async with host_network_pod(tmp_path / "pod-logs") as pod:
        container_id = await pod.start("counter", "sh", "-c", "echo hello; sleep 3600")
        status = (await pod.client.container_status(container_id)).status
        assert status is not None
        document = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop", "uid": "uid-1"},
            "spec": {"containers": [{"name": "counter", "image": "busybox:1.36"}]},
        }
        running = RuntimeContainer(
            id=container_id,
            name="counter",
            sandbox_id=pod.sandbox_id,
            state=d.ContainerState.CONTAINER_RUNNING,
            log_path=status.log_path,
        )
        manager = LogManager(
            pod.client, containers_dir=tmp_path / "containers", max_bytes=MAX_BYTES, max_files=2
        )
        await manager.link(load_pod(json.dumps(document)).pod, RuntimePod(uid="uid-1", containers=(running,)))
        link = tmp_path / "containers" / f"web_shop_counter-{container_id}.log"

        async def says_hello() -> bool:
            return link.exists() and b"hello" in link.read_bytes()

        await eventually(says_hello, within_s=WAIT_S)
