"""Node-level usage read from /proc and statvfs, shaped as the Summary API (stats/v1alpha1) wants it.

Each reader returns a JSON-ready dict or ``None`` when the source is unreadable; a missing part of
the summary is left out, as the kubelet leaves out what cAdvisor cannot tell it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelet.status import rfc3339

PROC = Path("/proc")
CLK_TCK = os.sysconf("SC_CLK_TCK")
Json = dict[str, Any]


def _now() -> str:
    return rfc3339(time.time())


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


@dataclass(frozen=True, kw_only=True)
class CpuSample:
    at_ns: int
    usage_ns: int


class CpuRate:
    """usageNanoCores from two cumulative samples: the previous call's and this one's."""

    def __init__(self) -> None:
        self._last: dict[str, CpuSample] = {}

    def stats(self, key: str, usage_ns: int, *, at_ns: int | None = None) -> Json:
        sample = CpuSample(at_ns=time.time_ns() if at_ns is None else at_ns, usage_ns=usage_ns)
        previous = self._last.get(key)
        self._last[key] = sample
        body: Json = {"time": rfc3339(sample.at_ns / 1e9), "usageCoreNanoSeconds": usage_ns}
        if previous is not None and sample.at_ns > previous.at_ns and usage_ns >= previous.usage_ns:
            elapsed = sample.at_ns - previous.at_ns
            body["usageNanoCores"] = (usage_ns - previous.usage_ns) * 1_000_000_000 // elapsed
        return body


def node_cpu_ns() -> int | None:
    text = _read(PROC / "stat")
    if text is None:
        return None
    fields = text.splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) * 1_000_000_000 // CLK_TCK


def boot_time() -> str | None:
    for line in (_read(PROC / "stat") or "").splitlines():
        if line.startswith("btime "):
            return rfc3339(float(line.split()[1]))
    return None


def meminfo() -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (_read(PROC / "meminfo") or "").splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def _vmstat() -> dict[str, int]:
    pairs = (line.split() for line in (_read(PROC / "vmstat") or "").splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2}


def node_memory() -> Json | None:
    info = meminfo()
    if "MemTotal" not in info:
        return None
    usage = info["MemTotal"] - info.get("MemFree", 0)
    inactive_file = info.get("Inactive(file)", 0)
    vmstat = _vmstat()
    return {
        "time": _now(),
        "availableBytes": info.get("MemAvailable", info.get("MemFree", 0)),
        "usageBytes": usage,
        "workingSetBytes": max(0, usage - inactive_file),
        "rssBytes": info.get("AnonPages", 0),
        "pageFaults": vmstat.get("pgfault", 0),
        "majorPageFaults": vmstat.get("pgmajfault", 0),
    }


def fs_stats(
    path: str | Path, *, used_bytes: int | None = None, inodes_used: int | None = None
) -> Json | None:
    """FsStats of the filesystem holding ``path``; ``used_*`` override the whole filesystem's use."""
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    capacity = info.f_blocks * info.f_frsize
    available = info.f_bavail * info.f_frsize
    body: Json = {
        "time": _now(),
        "availableBytes": available,
        "capacityBytes": capacity,
        "usedBytes": (info.f_blocks - info.f_bfree) * info.f_frsize if used_bytes is None else used_bytes,
        "inodesFree": info.f_ffree,
        "inodes": info.f_files,
        "inodesUsed": info.f_files - info.f_ffree if inodes_used is None else inodes_used,
    }
    return body


def nearest_existing(path: str | Path) -> Path:
    """``path`` or its closest existing ancestor: the filesystem a directory is or will be on."""
    candidate = Path(path).absolute()
    while not candidate.exists() and candidate != candidate.parent:
        candidate = candidate.parent
    return candidate


def rlimit() -> Json | None:
    pid_max = _read(PROC / "sys" / "kernel" / "pid_max")
    loadavg = _read(PROC / "loadavg")
    if pid_max is None or loadavg is None:
        return None
    return {"time": _now(), "maxpid": int(pid_max), "curproc": int(loadavg.split()[3].partition("/")[2])}


def _default_interface() -> str:
    for line in (_read(PROC / "net" / "route") or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1 and fields[1] == "00000000":
            return fields[0]
    return ""


def node_network() -> Json | None:
    text = _read(PROC / "net" / "dev")
    if text is None:
        return None
    interfaces = []
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        values = counters.split()
        if name.strip() == "lo" or len(values) < 11:
            continue
        interfaces.append(
            {
                "name": name.strip(),
                "rxBytes": int(values[0]),
                "rxErrors": int(values[2]),
                "txBytes": int(values[8]),
                "txErrors": int(values[10]),
            }
        )
    default = _default_interface()
    body: Json = {"time": _now(), "interfaces": interfaces}
    for interface in interfaces:
        if interface["name"] == default:
            body.update(interface)
    return body


def process_stats(pid: int) -> tuple[int, int, float] | None:
    """(cpu ns, resident bytes, start time) of one process."""
    stat = _read(PROC / str(pid) / "stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu_ns = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // CLK_TCK
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    btime = next(
        (float(v.split()[1]) for v in (_read(PROC / "stat") or "").splitlines() if v.startswith("btime")), 0
    )
    return cpu_ns, rss, btime + int(fields[19]) / CLK_TCK


def disk_usage(path: Path) -> tuple[int, int]:
    """(bytes, inodes) under ``path``, not following symlinks; (0, 0) if it does not exist."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0, 0
    used, inodes = top.st_blocks * 512, 1
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            used += info.st_blocks * 512
            inodes += 1
    return used, inodes
