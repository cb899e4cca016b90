"""The static pod directory is watched: changes arrive without waiting for the periodic rescan."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from api.core.v1.pods import pod_name, pod_spec
from api.model.core_v1 import Pod
from kubelet.static_source import ParsedManifest, StaticPodSource, scan

WAIT_S = 10.0
NO_RESCAN_S = 3600.0  # the safety-net rescan never fires within a test: only the watch can report
POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "{seconds}"]
"""


def manifest(name: str, seconds: int = 60) -> str:
    return POD.format(name=name, seconds=seconds)


@dataclass
class Updates:
    history: list[Mapping[str, Pod]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, pods: Mapping[str, Pod]) -> None:
        self.history.append(dict(pods))
        self.changed.set()

    @property
    def names(self) -> set[str]:
        return {pod_name(p) for p in self.history[-1].values()} if self.history else set()

    async def until(self, what: str, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
        assert predicate(), what


@contextlib.asynccontextmanager
async def running(source: StaticPodSource) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    temporary.rename(path)


@pytest.fixture
def updates() -> Updates:
    return Updates()


def source(directory: Path, updates: Updates, *, period_s: float = NO_RESCAN_S) -> StaticPodSource:
    return StaticPodSource(directory, node_name="n1", on_update=updates, period_s=period_s)


async def test_added_changed_and_removed_files_are_seen_without_rescans(
    tmp_path: Path, updates: Updates
) -> None:
    async with running(source(tmp_path, updates)):
        await updates.until("the initial empty scan", lambda: bool(updates.history))
        (tmp_path / "a.yaml").write_text(manifest("a"))
        await updates.until("a added", lambda: updates.names == {"a-n1"})
        first_uid = next(iter(updates.history[-1]))
        atomic_write(tmp_path / "a.yaml", manifest("a", seconds=120))
        await updates.until(
            "a changed", lambda: first_uid not in updates.history[-1] and updates.names == {"a-n1"}
        )
        (tmp_path / "a.yaml").unlink()
        await updates.until("a removed", lambda: updates.names == set())


async def test_kubernetes_style_data_symlink_swap_is_one_change(tmp_path: Path, updates: Updates) -> None:
    first = tmp_path / "..2026_01"
    first.mkdir()
    (first / "web.yaml").write_text(manifest("web"))
    (tmp_path / "..data").symlink_to(first.name)
    (tmp_path / "web.yaml").symlink_to("..data/web.yaml")
    async with running(source(tmp_path, updates)):
        await updates.until("web from the symlinked data dir", lambda: updates.names == {"web-n1"})
        before = set(updates.history[-1])
        second = tmp_path / "..2026_02"
        second.mkdir()
        (second / "web.yaml").write_text(manifest("web", seconds=300))
        (tmp_path / "..data_tmp").symlink_to(second.name)
        (tmp_path / "..data_tmp").rename(tmp_path / "..data")
        await updates.until("the swapped manifest", lambda: set(updates.history[-1]) - before != set())
        [pod] = updates.history[-1].values()
        assert pod_spec(pod).containers[0].command == ["sleep", "300"]


async def test_half_written_manifest_keeps_the_running_pod(tmp_path: Path, updates: Updates) -> None:
    (tmp_path / "web.yaml").write_text(manifest("web"))
    async with running(source(tmp_path, updates)):
        await updates.until("web", lambda: updates.names == {"web-n1"})
        text = manifest("web", seconds=999)
        with (tmp_path / "web.yaml").open("w") as writer:
            writer.write(text[: len(text) // 2])
            writer.flush()
            (tmp_path / "other.yaml").write_text(manifest("other"))
            await updates.until("other", lambda: updates.names == {"web-n1", "other-n1"})
            writer.write(text[len(text) // 2 :])
        await updates.until(
            "the completed manifest", lambda: any(
                pod_spec(p).containers[0].command == ["sleep", "999"] for p in updates.history[-1].values()
            )
        )  # fmt: skip
    assert all("web-n1" in {pod_name(p) for p in pods.values()} for pods in updates.history)


async def test_directory_created_after_start_is_watched(tmp_path: Path, updates: Updates) -> None:
    directory = tmp_path / "manifests"
    async with running(source(directory, updates, period_s=0.1)):
        await updates.until("the empty first scan", lambda: bool(updates.history))
        directory.mkdir()
        (directory / "late.yaml").write_text(manifest("late"))
        await updates.until("late", lambda: updates.names == {"late-n1"})


def test_unparseable_file_settles_into_an_error(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(manifest("web"))
    cache: dict[str, ParsedManifest] = {}
    modified = os.stat(path).st_mtime
    good = scan(tmp_path, node_name="n1", cache=cache, now=modified, settle_s=1.0)
    path.write_text("apiVersion: v1\nkind: Po")
    modified = os.stat(path).st_mtime
    writing = scan(tmp_path, node_name="n1", cache=cache, now=modified, settle_s=1.0)
    assert writing.pods == good.pods and writing.settling == {str(path)} and not writing.errors
    settled = scan(tmp_path, node_name="n1", cache=cache, now=modified + 5, settle_s=1.0)
    assert not settled.pods and not settled.settling and str(path) in settled.errors


def test_new_unparseable_file_is_an_error_at_once(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text("apiVersion: v1\nkind: Po")
    result = scan(tmp_path, node_name="n1", now=os.stat(path).st_mtime, settle_s=1.0)
    assert not result.pods and not result.settling and str(path) in result.errors


async def test_swapped_directory_symlink_is_followed(tmp_path: Path, updates: Updates) -> None:
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    (first / "a.yaml").write_text(manifest("a"))
    (second / "b.yaml").write_text(manifest("b"))
    link = tmp_path / "manifests"
    link.symlink_to(first)
    async with running(source(link, updates, period_s=0.1)):
        await updates.until("a from v1", lambda: updates.names == {"a-n1"})
        (tmp_path / "manifests.new").symlink_to(second)
        (tmp_path / "manifests.new").rename(link)
        await updates.until("b from v2", lambda: updates.names == {"b-n1"})
        (second / "c.yaml").write_text(manifest("c"))
        await updates.until("c in v2", lambda: updates.names == {"b-n1", "c-n1"})
