"""cgroup v1 readers (cgroupfs driver): CPU, memory and pids of one cgroup path, and its removal."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True, kw_only=True, slots=True)
class CgroupSample:
    cpu: d.CpuUsage
    memory: d.MemoryUsage
    process_count: int


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _memory_stat(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v) for k, v in (line.split() for line in lines if len(line.split()) == 2)}


def sample(cgroup_path: str, *, root: Path = CGROUP_ROOT) -> CgroupSample:
    """Blocking: current usage of ``cgroup_path`` (missing files give None fields)."""
    relative = cgroup_path.lstrip("/")
    now = time.time_ns()
    usage = _read_int(root / "cpuacct" / relative / "cpuacct.usage")
    memory_dir = root / "memory" / relative
    used = _read_int(memory_dir / "memory.usage_in_bytes")
    stats = _memory_stat(memory_dir / "memory.stat")
    inactive = stats.get("total_inactive_file", 0)
    working_set = max(used - inactive, 0) if used is not None else None
    procs = sum(_count_lines(path) for path in (root / "pids" / relative).rglob("cgroup.procs"))
    return CgroupSample(
        cpu=d.CpuUsage(timestamp=now, usage_core_nano_seconds=usage),
        memory=d.MemoryUsage(
            timestamp=now,
            working_set_bytes=working_set,
            usage_bytes=used,
            rss_bytes=stats.get("total_rss"),
            page_faults=stats.get("total_pgfault"),
            major_page_faults=stats.get("total_pgmajfault"),
        ),
        process_count=procs,
    )


def _count_lines(path: Path) -> int:
    try:
        return len(path.read_text().split())
    except OSError:
        return 0


def remove(cgroup_path: str, *, root: Path = CGROUP_ROOT) -> None:
    """Blocking: remove the (empty) cgroup directory in every hierarchy; leaves are removed first."""
    relative = cgroup_path.lstrip("/")
    for hierarchy in sorted(root.iterdir()):
        target = hierarchy / relative
        if not target.is_dir():
            continue
        for dirpath, _, _ in sorted(os.walk(target), key=lambda entry: -len(entry[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


def exists(cgroup_path: str, *, root: Path = CGROUP_ROOT) -> bool:
    return (root / "memory" / cgroup_path.lstrip("/")).is_dir()
