"""Container garbage collection, as the kubelet's: dead containers, stopped sandboxes, pod log dirs.

- Dead (not running) containers older than ``min_age``: all of a removed pod's; otherwise the newest
  ``max_per_pod_container`` of each (pod, container name) are kept, the older ones removed; then, if
  ``max_containers`` >= 0, the oldest dead containers overall until that many remain.
- Sandboxes that are neither ready nor still hold a container: all of a removed pod's; of a pod
  that still exists, all but its newest sandbox.
- ``<podLogsDir>/<namespace>_<name>_<uid>`` of removed pods without sandboxes, and symlinks in the
  containers log dir that dangle and name no container the runtime still has.

A pod is removed once its source no longer has it and its worker has finished terminating it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cri.errors import CRIError, NotFound
from kubelet.runtime_view import RuntimeContainer, RuntimePod, RuntimeSnapshot

log = logging.getLogger(__name__)
GC_PERIOD_S = 60.0
CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class GCPolicy:
    min_age_s: float = 0.0
    max_per_pod_container: int = 1
    max_containers: int = -1


@dataclass(frozen=True, kw_only=True)
class GCPlan:
    containers: tuple[str, ...] = ()
    sandboxes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.containers and not self.sandboxes


def _dead(pod: RuntimePod, *, policy: GCPolicy, now_ns: int) -> list[RuntimeContainer]:
    min_age_ns = int(policy.min_age_s * 1e9)
    return [c for c in pod.containers if not c.running and now_ns - c.created_at >= min_age_ns]


def _containers_to_remove(
    snapshot: RuntimeSnapshot, *, policy: GCPolicy, removed: Callable[[str], bool], now_ns: int
) -> list[RuntimeContainer]:
    doomed: list[RuntimeContainer] = []
    kept: list[RuntimeContainer] = []
    for uid, pod in snapshot.pods.items():
        dead = _dead(pod, policy=policy, now_ns=now_ns)
        if removed(uid):
            doomed.extend(dead)
            continue
        by_name: dict[str, list[RuntimeContainer]] = {}
        for container in dead:
            by_name.setdefault(container.name, []).append(container)
        for history in by_name.values():
            history.sort(key=lambda c: c.created_at, reverse=True)
            keep = len(history) if policy.max_per_pod_container < 0 else policy.max_per_pod_container
            kept.extend(history[:keep])
            doomed.extend(history[keep:])
    if policy.max_containers >= 0 and len(kept) > policy.max_containers:
        kept.sort(key=lambda c: c.created_at)
        doomed.extend(kept[: len(kept) - policy.max_containers])
    return doomed


def _sandboxes_to_remove(
    snapshot: RuntimeSnapshot, *, removed: Callable[[str], bool], doomed_containers: set[str]
) -> list[str]:
    doomed: list[str] = []
    for uid, pod in snapshot.pods.items():
        in_use = {c.sandbox_id for c in pod.containers if c.id not in doomed_containers}
        newest_first = sorted(pod.sandboxes, key=lambda s: s.created_at, reverse=True)
        candidates = newest_first if removed(uid) else newest_first[1:]
        doomed.extend(s.id for s in candidates if not s.ready and s.id not in in_use)
    return doomed


def plan(
    snapshot: RuntimeSnapshot, *, policy: GCPolicy, removed: Callable[[str], bool], now_ns: int
) -> GCPlan:
    """What to remove from ``snapshot``; ``removed(uid)`` says a pod is gone for good."""
    containers = _containers_to_remove(snapshot, policy=policy, removed=removed, now_ns=now_ns)
    doomed_ids = {c.id for c in containers}
    sandboxes = _sandboxes_to_remove(snapshot, removed=removed, doomed_containers=doomed_ids)
    return GCPlan(containers=tuple(c.id for c in containers), sandboxes=tuple(sandboxes))


class GCRuntime(Protocol):
    """The CRI calls GC needs (a CRIClient provides them)."""

    async def remove_container(self, container_id: str, *, timeout: float | None = None) -> None: ...

    async def remove_pod_sandbox(self, pod_sandbox_id: str, *, timeout: float | None = None) -> None: ...


@dataclass(frozen=True, kw_only=True)
class GCResult:
    containers: int
    sandboxes: int
    log_dirs: int


class ContainerGC:
    def __init__(
        self,
        client: GCRuntime,
        *,
        policy: GCPolicy,
        pod_logs_dir: Path,
        containers_log_dir: Path,
        removed: Callable[[str], bool],
    ) -> None:
        self.client = client
        self.policy = policy
        self.pod_logs_dir = pod_logs_dir
        self.containers_log_dir = containers_log_dir
        self.removed = removed

    async def collect(self, snapshot: RuntimeSnapshot, *, now_ns: int) -> GCResult:
        todo = plan(snapshot, policy=self.policy, removed=self.removed, now_ns=now_ns)
        containers = 0
        for container_id in todo.containers:
            containers += await _removed(
                container_id, self.client.remove_container(container_id, timeout=CALL_TIMEOUT_S)
            )
        sandboxes = 0
        for sandbox_id in todo.sandboxes:
            sandboxes += await _removed(
                sandbox_id, self.client.remove_pod_sandbox(sandbox_id, timeout=CALL_TIMEOUT_S)
            )
        known_containers = {c.id for p in snapshot.pods.values() for c in p.containers} - set(todo.containers)
        pods_with_sandboxes = {
            uid for uid, p in snapshot.pods.items() if {s.id for s in p.sandboxes} - set(todo.sandboxes)
        }
        log_dirs = await asyncio.to_thread(self._remove_logs, pods_with_sandboxes, known_containers)
        if containers or sandboxes or log_dirs:
            log.info(
                "garbage collected %d containers, %d sandboxes, %d pod log dirs",
                containers,
                sandboxes,
                log_dirs,
            )
        return GCResult(containers=containers, sandboxes=sandboxes, log_dirs=log_dirs)

    def _remove_logs(self, pods_with_sandboxes: set[str], known_containers: set[str]) -> int:
        removed = 0
        for entry in _entries(self.pod_logs_dir):
            uid = entry.name.rpartition("_")[2]
            if entry.is_dir() and uid not in pods_with_sandboxes and self.removed(uid):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        for link in _entries(self.containers_log_dir):
            container_id = link.name.removesuffix(".log").rpartition("-")[2]
            if link.is_symlink() and not link.exists() and container_id not in known_containers:
                with contextlib.suppress(OSError):
                    link.unlink()
        return removed


async def _removed(object_id: str, removal: Awaitable[None]) -> bool:
    try:
        await removal
    except NotFound:
        return False
    except CRIError as exc:
        log.warning("garbage collection: removing %s: %s", object_id, exc)
        return False
    return True


def _entries(directory: Path) -> Iterable[Path]:
    try:
        return list(directory.iterdir())
    except OSError:
        return []
