"""cgroup v1 (cgroupfs driver): CPU, memory and pids of one cgroup path, its limits, and its removal."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cri import domain as d

CGROUP_ROOT = Path("/sys/fs/cgroup")
DEFAULT_CPU_PERIOD = 100_000
UNLIMITED_QUOTA = -1


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
    procs = _count_processes(root / "pids" / relative)
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


def _count_processes(directory: Path) -> int:
    """Processes in the cgroup and its descendants; a child removed meanwhile (exited container) counts 0."""
    return sum(_count_lines(Path(current) / "cgroup.procs") for current, _, _ in os.walk(directory))


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


@dataclass(frozen=True, kw_only=True, slots=True)
class CgroupLimits:
    """Limits to write into one cgroup; zero or empty leaves a setting as it is."""

    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    """Microseconds per ``cpu_period``; ``UNLIMITED_QUOTA`` lifts the limit."""
    memory_limit: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""


class CgroupWriteError(Exception):
    """The kernel refused a limit; ``errno`` says why (EINVAL: bad value, EBUSY: in use below it)."""

    def __init__(self, message: str, *, errno_value: int) -> None:
        super().__init__(message)
        self.message = message
        self.errno = errno_value


def pod_limits(resources: d.LinuxContainerResources, overhead: d.LinuxContainerResources) -> CgroupLimits:
    """A pod's cgroup limits from the sum of its containers' resources plus the pod overhead.

    Overhead only adds to a limit the containers set: a pod without a memory limit stays unlimited.
    """
    period = resources.cpu_period or overhead.cpu_period or DEFAULT_CPU_PERIOD
    quota = resources.cpu_quota
    if quota > 0 and overhead.cpu_quota > 0:
        quota += overhead.cpu_quota * period // (overhead.cpu_period or DEFAULT_CPU_PERIOD)
    return CgroupLimits(
        cpu_shares=resources.cpu_shares + overhead.cpu_shares if resources.cpu_shares else 0,
        cpu_period=period if quota else 0,
        cpu_quota=UNLIMITED_QUOTA if quota < 0 else quota,
        memory_limit=(
            resources.memory_limit_in_bytes + overhead.memory_limit_in_bytes
            if resources.memory_limit_in_bytes > 0
            else 0
        ),
        cpuset_cpus=resources.cpuset_cpus,
        cpuset_mems=resources.cpuset_mems,
    )


def invalid_limits(resources: d.LinuxContainerResources) -> str | None:
    """What is wrong with requested resources (the kernel's limits, named), or None."""
    for name in ("cpu_shares", "memory_limit_in_bytes", "cpu_period"):
        if getattr(resources, name) < 0:
            return f"{name} must not be negative, got {getattr(resources, name)}"
    if resources.cpu_shares and resources.cpu_shares < 2:
        return f"cpu_shares must be at least 2, got {resources.cpu_shares}"
    if resources.cpu_period and not 1_000 <= resources.cpu_period <= 1_000_000:
        return f"cpu_period must be between 1000 and 1000000 microseconds, got {resources.cpu_period}"
    return None


def apply_limits(cgroup_path: str, limits: CgroupLimits, *, root: Path = CGROUP_ROOT) -> None:
    """Blocking: write ``limits`` into ``cgroup_path`` in the cpu, memory and cpuset hierarchies.

    Directories are created as runc would create them for the first container under this parent; a
    new cpuset directory inherits its parent's CPUs and memory nodes so that it can hold tasks.
    """
    relative = cgroup_path.lstrip("/")
    writes: list[tuple[str, str, str]] = []
    if limits.cpu_shares:
        writes.append(("cpu", "cpu.shares", str(limits.cpu_shares)))
    if limits.cpu_period:
        writes.append(("cpu", "cpu.cfs_period_us", str(limits.cpu_period)))
    if limits.cpu_quota:
        writes.append(("cpu", "cpu.cfs_quota_us", str(limits.cpu_quota)))
    if limits.memory_limit:
        writes.append(("memory", "memory.limit_in_bytes", str(limits.memory_limit)))
    if limits.cpuset_mems:
        writes.append(("cpuset", "cpuset.mems", limits.cpuset_mems))
    if limits.cpuset_cpus:
        writes.append(("cpuset", "cpuset.cpus", limits.cpuset_cpus))
    for hierarchy in sorted({h for h, _, _ in writes}):
        _ensure_directory(root / hierarchy, relative)
    for hierarchy, name, value in writes:
        _write(root / hierarchy / relative / name, value)


def _ensure_directory(hierarchy: Path, relative: str) -> None:
    current = hierarchy
    for part in Path(relative).parts:
        parent, current = current, current / part
        if current.is_dir():
            continue
        current.mkdir()
        if hierarchy.name == "cpuset":
            for name in ("cpuset.cpus", "cpuset.mems"):
                inherited = _read_text(parent / name)
                if inherited and not _read_text(current / name):
                    _write(current / name, inherited)


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CgroupWriteError(
            f"the kernel refused {value} for {path}: {reason}", errno_value=exc.errno or errno.EIO
        ) from exc


def read_limits(cgroup_path: str, *, root: Path = CGROUP_ROOT) -> CgroupLimits:
    """Blocking: the limits ``cgroup_path`` has now (missing files read as zero or empty)."""
    relative = cgroup_path.lstrip("/")
    cpu, memory, cpuset = (root / hierarchy / relative for hierarchy in ("cpu", "memory", "cpuset"))
    return CgroupLimits(
        cpu_shares=_read_int(cpu / "cpu.shares") or 0,
        cpu_period=_read_int(cpu / "cpu.cfs_period_us") or 0,
        cpu_quota=_read_int(cpu / "cpu.cfs_quota_us") or 0,
        memory_limit=_read_int(memory / "memory.limit_in_bytes") or 0,
        cpuset_cpus=_read_text(cpuset / "cpuset.cpus"),
        cpuset_mems=_read_text(cpuset / "cpuset.mems"),
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
