"""Container log symlinks and rotation (``kubelet.log_files``, owned by the kubelet engineer).

A container "runtime" here is a CRI log writer holding the log file open, as shims do; the
fake CRI runtime's ReopenContainerLog makes it reopen the path, as a real runtime does.
"""

from __future__ import annotations

import gzip
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pytest

from api.core.v1.manifest import load_pod
from api.model.core_v1 import Pod
from cri import crilog
from cri import domain as d
from cri.client import CRIClient
from cri.errors import Unimplemented
from cri.server import CRIServer, ServerOptions
from kubelet.log_files import LogManager, symlink_name
from kubelet.runtime_view import RuntimeContainer, RuntimePod
from shims.fake import FakeImages, FakeRuntime

MAX_BYTES = 1024
MAX_FILES = 3


@dataclass
class ContainerLog:
    """The runtime side of a container log: an open file that ReopenContainerLog swaps."""

    path: Path
    file: BinaryIO = field(init=False)
    lines_written: int = 0

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("ab")

    def reopen(self) -> None:
        self.file.close()
        self.file = self.path.open("ab")

    def write_bytes(self, size: int) -> None:
        writer = crilog.LogWriter(self.file)
        while self.path.stat().st_size < size:
            self.lines_written += 1
            writer.write(crilog.STDOUT, f"line {self.lines_written:06d}\n".encode(), time.time_ns())


@dataclass
class Node:
    runtime: FakeRuntime
    manager: LogManager
    container_id: str
    log: ContainerLog


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    images = FakeImages()
    runtime = FakeRuntime(images, images.faults)
    server = CRIServer(runtime, images, ServerOptions(socket=tmp_path / "cri.sock"))
    await server.start()
    client = await CRIClient.connect(str(tmp_path / "cri.sock"), timeout=10)
    log = None
    try:
        log = ContainerLog(tmp_path / "pods" / "shop_web_uid-1" / "app" / "0.log")
        container_id = await _running_container(client, images)
        original = runtime.reopen_container_log

        async def reopen(cid: str) -> None:
            await original(cid)
            assert log is not None
            log.reopen()

        runtime.reopen_container_log = reopen  # type: ignore[method-assign,assignment]
        manager = LogManager(
            client, containers_dir=tmp_path / "containers", max_bytes=MAX_BYTES, max_files=MAX_FILES
        )
        yield Node(runtime, manager, container_id, log)
    finally:
        if log is not None:
            log.file.close()
        await client.close()
        await server.stop()


async def _running_container(client: CRIClient, images: FakeImages) -> str:
    images.add_image("busybox:1.36")
    sandbox = d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="web", uid="uid-1", namespace="shop"))
    sandbox_id = await client.run_pod_sandbox(sandbox)
    image = d.ImageSpec(image="busybox:1.36")
    config = d.ContainerConfig(metadata=d.ContainerMetadata(name="app"), image=image)
    container_id = await client.create_container(sandbox_id, config, sandbox)
    await client.start_container(container_id)
    return container_id


@pytest.fixture(autouse=True)
def distinct_rotation_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rotation one second after the last, so rotated names differ without waiting."""
    seconds = itertools.count(1_800_000_000)
    real_gmtime = time.gmtime
    monkeypatch.setattr(time, "gmtime", lambda *_: real_gmtime(next(seconds)))


def rotated_files(log: ContainerLog) -> list[Path]:
    return sorted(p for p in log.path.parent.iterdir() if p.name.startswith(log.path.name + "."))


def all_lines(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as source:
            yield from (r.content for r in crilog.records(source))


# rotation


async def test_a_log_below_the_size_limit_is_left_alone(node: Node) -> None:
    node.log.write_bytes(MAX_BYTES // 2)
    assert not await node.manager.rotate_if_needed(node.container_id, str(node.log.path))
    assert rotated_files(node.log) == []
    assert "reopen_container_log" not in node.runtime.faults.count()


async def test_rotation_renames_the_log_and_the_runtime_reopens_a_fresh_one(node: Node) -> None:
    node.log.write_bytes(MAX_BYTES)
    assert await node.manager.rotate_if_needed(node.container_id, str(node.log.path))
    (rotated,) = rotated_files(node.log)
    assert rotated.name.startswith("0.log.") and rotated.suffix != ".gz"
    node.log.write_bytes(10)
    assert list(all_lines([node.log.path])) == [f"line {node.log.lines_written:06d}".encode()]


async def test_rotation_keeps_max_files_gzips_older_ones_and_loses_no_recent_line(node: Node) -> None:
    for _ in range(5):
        node.log.write_bytes(MAX_BYTES)
        assert await node.manager.rotate_if_needed(node.container_id, str(node.log.path))
    node.log.write_bytes(10)
    rotated = rotated_files(node.log)
    assert len(rotated) + 1 == MAX_FILES
    assert [p.suffix == ".gz" for p in rotated] == [True, False]
    lines = list(all_lines([*rotated, node.log.path]))
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], node.log.lines_written + 1))


async def test_a_runtime_that_cannot_reopen_leaves_the_log_unrotated_and_intact(node: Node) -> None:
    node.runtime.faults.fail_always("reopen_container_log", Unimplemented("ReopenContainerLog"))
    node.log.write_bytes(MAX_BYTES)
    written = node.log.lines_written
    assert not await node.manager.rotate_if_needed(node.container_id, str(node.log.path))
    node.log.write_bytes(2 * MAX_BYTES)
    assert not await node.manager.rotate_if_needed(node.container_id, str(node.log.path))
    assert rotated_files(node.log) == []
    numbers = [int(line.split()[1]) for line in all_lines([node.log.path])]
    assert numbers == list(range(1, node.log.lines_written + 1)) and node.log.lines_written > written


async def test_a_log_that_is_gone_is_not_an_error(node: Node, tmp_path: Path) -> None:
    assert not await node.manager.rotate_if_needed(node.container_id, str(tmp_path / "gone.log"))


# symlinks


def pod_and_runtime(log_path: str) -> tuple[Pod, RuntimePod]:
    document = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "uid": "uid-1"},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
    }
    pod = load_pod(json.dumps(document)).pod
    container = RuntimeContainer(
        id="c0ffee", name="app", sandbox_id="sb", state=d.ContainerState.CONTAINER_RUNNING, log_path=log_path
    )
    return pod, RuntimePod(uid="uid-1", name="web", namespace="shop", containers=(container,))


async def test_container_log_symlink_is_named_like_the_kubelet_and_points_at_the_cri_log(node: Node) -> None:
    pod, runtime = pod_and_runtime(str(node.log.path))
    await node.manager.link(pod, runtime)
    await node.manager.link(pod, runtime)
    link = node.manager.containers_dir / "web_shop_app-c0ffee.log"
    assert symlink_name(pod, "app", "c0ffee") == link.name
    assert link.is_symlink() and link.resolve() == node.log.path.resolve()
    await node.manager.unlink(runtime)
    assert not link.is_symlink()


async def test_two_rotations_within_one_second_lose_no_line(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    same_second = time.gmtime(1_800_000_000)
    monkeypatch.setattr(time, "gmtime", lambda *_: same_second)
    for _ in range(2):
        node.log.write_bytes(MAX_BYTES)
        await node.manager.rotate_if_needed(node.container_id, str(node.log.path))
    numbers = [int(line.split()[1]) for line in all_lines([*rotated_files(node.log), node.log.path])]
    assert numbers == list(range(1, node.log.lines_written + 1))
