"""Log rotation through ReopenContainerLog, log symlinks, activeDeadlineSeconds, /stats/summary."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from cri.errors import Unimplemented
from kubelet.log_files import LogManager
from kubelet.stats import summary

from .conftest import NODE, Node
from .test_kubelet_fake import WEB


async def _running_container(node: Node) -> tuple[str, Path]:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    [record] = node.runtime.containers.values()
    path = Path(record.log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return record.id, path


async def test_log_symlink_points_at_the_container_log(node: Node) -> None:
    container_id, path = await _running_container(node)
    link = Path(node.config.container_logs_dir) / f"web-{NODE}_default_app-{container_id}.log"
    await node.wait_for("the /var/log/containers symlink", link.is_symlink)
    assert os.readlink(link) == str(path)


async def test_rotation_reopens_and_compresses_old_files(node: Node) -> None:
    container_id, path = await _running_container(node)
    manager = LogManager(
        node.client, containers_dir=Path(node.config.container_logs_dir), max_bytes=10, max_files=3
    )
    for round_number in range(3):
        path.write_text(f"round {round_number} has more than ten bytes\n")
        assert await manager.rotate_if_needed(container_id, str(path))
    assert node.runtime.faults.count()["reopen_container_log"] == 3
    rotated = sorted(p.name for p in path.parent.iterdir() if p.name != path.name)
    assert len(rotated) == 2, rotated
    assert rotated[0].endswith(".gz") and not rotated[1].endswith(".gz")
    with gzip.open(path.parent / rotated[0], "rt") as packed:
        assert packed.read().startswith("round 1")


async def test_runtime_that_cannot_reopen_keeps_the_log_intact(node: Node) -> None:
    container_id, path = await _running_container(node)
    node.runtime.faults.fail_always("reopen_container_log", Unimplemented("ReopenContainerLog"))
    manager = LogManager(
        node.client, containers_dir=Path(node.config.container_logs_dir), max_bytes=10, max_files=3
    )
    path.write_text("more than ten bytes of log\n")
    assert not await manager.rotate_if_needed(container_id, str(path))
    assert path.read_text() == "more than ten bytes of log\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


async def test_active_deadline_fails_the_pod(node: Node) -> None:
    node.write("web.yaml", WEB.replace("spec:\n", "spec:\n  activeDeadlineSeconds: 1\n"))
    status = await node.wait_phase("web", "Failed")
    assert status.reason == "DeadlineExceeded"
    await node.wait_for(
        "the sandbox stopped", lambda: not any(s.ready for s in node.runtime.sandboxes.values())
    )


async def test_stats_summary_names_pods_and_containers(node: Node) -> None:
    await _running_container(node)
    body = await summary(node.kubelet)
    [pod] = body["pods"]
    assert pod["podRef"]["name"] == f"web-{NODE}"
    assert [c["name"] for c in pod["containers"]] == ["app"]
