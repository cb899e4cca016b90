"""30 static pods written at once: time until every container runs (as /pods shows it), per-pod
p50/p99, then the kubelet's CPU and RSS while the pods idle. On containerd's CRI, the runc shim and
the in-memory fake shim (the kubelet's own share, with a runtime that costs nothing).

Each run first makes the same pods' CRI calls directly, all at once (``direct_cri``: the runtime
alone), then runs the kubelet; the kubelet's p99 is printed as a ratio to that run's direct-CRI p99
and to the host floor's p99.
The table shows medians over ``--runs``; each run's row goes to stderr as it completes. Before
the runtimes, ``floor`` measures the same number of pods on the host's runc and CNI plugins alone
(no CRI, shim or kubelet): the part of the latency no runtime built on them can remove.

    python -m bench.kubelet.bench_static_pods [--pods 30] [--runs 3] [--idle-seconds 20]
        [--runtimes containerd,runc,fake]

Needs root and the services from ``.ci/services.sh start`` (containerd with its CRI plugin and the
local registry); the runc shim runs as its own process with the seeded rootfs, as in bench/runc.
The kubelet runs as ``tinykube kubelet`` in its own process, with fileCheckFrequency 200ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kubelet.direct_cri import DirectResult, direct_cri
from bench.kubelet.floor import describe, measure_floor
from tinykube.testbeds.kubelet_process import CONTAINERD, KubeletProcess, eventually, write_config
from tinykube.testbeds.runc_shim import ShimProcess, make_layout

POD = """apiVersion: v1
kind: Pod
metadata: {{name: bench-{index}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
    command: ["sleep", "3600"]
"""
POLL_S = 0.05
SETTLE_S = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, kw_only=True)
class Result:
    runtime: str
    all_running_s: float
    per_pod_s: list[float]
    idle_cpu_cores: float
    idle_rss_mib: float

    def percentile(self, fraction: float) -> float:
        values = sorted(self.per_pod_s)
        return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def _running(pod: dict[str, Any]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return bool(statuses) and all("running" in s.get("state", {}) for s in statuses)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(runtime: str, endpoint: str, base: Path, *, pods: int, idle_s: float) -> Result:
    kubelet = KubeletProcess(config=write_config(base, endpoint=endpoint), log=base / "kubelet.log")
    await kubelet.start()
    manifests = base / "manifests"
    try:
        written: dict[str, float] = {}
        for index in range(pods):
            (manifests / f"bench-{index}.yaml").write_text(POD.format(index=index))
            written[f"bench-{index}"] = time.monotonic()
        started = time.monotonic()
        seen: dict[str, float] = {}
        async with asyncio.timeout(SETTLE_S):
            while len(seen) < pods:
                for pod in await kubelet.pods():
                    name = pod["metadata"]["name"].rsplit("-", 1)[0]
                    if name not in seen and _running(pod):
                        seen[name] = time.monotonic()
                await asyncio.sleep(POLL_S)
        all_running = time.monotonic() - started
        assert kubelet.process is not None
        pid = kubelet.process.pid
        cpu_before, idle_started = _cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(idle_s)
        cpu = (_cpu_seconds(pid) - cpu_before) / (time.monotonic() - idle_started)
        return Result(
            runtime=runtime,
            all_running_s=all_running,
            per_pod_s=[seen[name] - written[name] for name in seen],
            idle_cpu_cores=cpu,
            idle_rss_mib=_rss_mib(pid),
        )
    finally:
        for manifest in manifests.iterdir():
            manifest.unlink()

        async def drained() -> bool:
            return not await kubelet.pods() and "kubelet_pod_sandboxes 0.0" in await kubelet.get("/metrics")

        await eventually(drained, "the benchmark pods terminated", SETTLE_S)
        await kubelet.kill(signal.SIGTERM)


async def fake_shim(socket: Path) -> asyncio.subprocess.Process:
    """The in-memory fake shim: the kubelet's own share of the latency, with a runtime that costs nothing."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "shim", "--backend", "fake", "--socket", str(socket),
        "--log-level", "warning", stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await eventually(lambda: asyncio.to_thread(socket.exists), "the fake shim's socket", 30)
    return process


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    runtime: str
    address: str


@contextlib.asynccontextmanager
async def endpoint(runtime: str, base: Path) -> AsyncIterator[Endpoint]:
    if runtime == "containerd":
        yield Endpoint(runtime="containerd CRI", address=CONTAINERD)
    elif runtime == "fake":
        shim_process = await fake_shim(base / "fake.sock")
        try:
            yield Endpoint(runtime="fake", address=f"unix://{base / 'fake.sock'}")
        finally:
            shim_process.send_signal(signal.SIGTERM)
            await shim_process.wait()
    else:
        layout = await asyncio.to_thread(make_layout, base / "runc-shim")
        shim = ShimProcess(layout, base / "runc.sock")
        await (await shim.start()).close()
        try:
            yield Endpoint(runtime="runc shim", address=f"unix://{base / 'runc.sock'}")
        finally:
            await shim.stop()


async def run(
    runtimes: list[str], *, pods: int, idle_s: float, runs: int
) -> tuple[list[Round], list[DirectResult]]:
    rounds, floors = [], []
    with tempfile.TemporaryDirectory(prefix="tinykube-bench-kubelet-") as directory:
        base = Path(directory)
        for attempt in range(runs):
            floors.append(await measure_floor(base / "floor" / str(attempt), pods=pods))
            print(f"host floor run {attempt + 1}: {describe(floors[-1:])}", file=sys.stderr)
        for runtime in runtimes:
            async with endpoint(runtime, base / runtime) as target:
                for attempt in range(runs):
                    work = base / runtime / str(attempt)
                    direct = await direct_cri(target.address, POD, pods=pods, base=work / "direct")
                    kubelet = await measure(target.runtime, target.address, work, pods=pods, idle_s=idle_s)
                    rounds.append(Round(kubelet=kubelet, direct=direct))
                    print(f"{target.runtime} run {attempt + 1}: {_row(rounds[-1])}", file=sys.stderr)
    return rounds, floors


@dataclass(frozen=True, kw_only=True)
class Round:
    """One kubelet measurement and the direct-CRI reference taken just before it."""

    kubelet: Result
    direct: DirectResult


def _row(r: Round) -> str:
    k, direct = r.kubelet, r.direct
    ratio = k.percentile(0.99) / direct.percentile(0.99)
    return (
        f"{k.all_running_s:>9.2f}s{k.percentile(0.5):>8.2f}s{k.percentile(0.99):>8.2f}s"
        f"{direct.all_running_s:>9.2f}s{direct.percentile(0.5):>8.2f}s{direct.percentile(0.99):>8.2f}s"
        f"{ratio:>9.2f}x{k.idle_cpu_cores:>7.3f} core{k.idle_rss_mib:>7.1f} MiB"
    )


def _median_round(rounds: list[Round], floor_p99: float) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    ks, ds = [r.kubelet for r in rounds], [r.direct for r in rounds]
    to_direct = med([r.kubelet.percentile(0.99) / r.direct.percentile(0.99) for r in rounds])
    to_floor = med([k.percentile(0.99) for k in ks]) / floor_p99
    return (
        f"{med([k.all_running_s for k in ks]):>9.2f}s{med([k.percentile(0.5) for k in ks]):>8.2f}s"
        f"{med([k.percentile(0.99) for k in ks]):>8.2f}s{med([d.all_running_s for d in ds]):>9.2f}s"
        f"{med([d.percentile(0.5) for d in ds]):>8.2f}s{med([d.percentile(0.99) for d in ds]):>8.2f}s"
        f"{to_direct:>9.2f}x{to_floor:>9.2f}x{med([k.idle_cpu_cores for k in ks]):>7.3f} core"
        f"{med([k.idle_rss_mib for k in ks]):>7.1f} MiB"
    )


def report(rounds: list[Round], floors: list[DirectResult], *, pods: int, idle_s: float) -> None:
    runs = len(rounds) // len({r.kubelet.runtime for r in rounds})
    print(f"{pods} static pods written at once; medians of {runs} run(s); idle measured over {idle_s:.0f}s")
    print("direct CRI = the same pods' CRI calls made directly, all at once (the runtime alone)")
    print("p99/direct = kubelet p99 / direct-CRI p99 of the same run; p99/floor = kubelet p99 / floor p99")
    print(
        f"{'runtime':<16}{'kubelet: all running':>21}{'p50':>9}{'p99':>9}{'direct: all':>13}{'p50':>9}"
        f"{'p99':>9}{'p99/direct':>11}{'p99/floor':>10}{'idle CPU':>11}{'idle RSS':>11}"
    )
    floor_p99 = statistics.median([f.percentile(0.99) for f in floors])
    for runtime in dict.fromkeys(r.kubelet.runtime for r in rounds):
        row = _median_round([r for r in rounds if r.kubelet.runtime == runtime], floor_p99)
        print(f"{runtime:<16}{'':>11}{row}")
    print(f"host floor (CNI ADD, then runc create + start; no CRI, shim or kubelet): {describe(floors)}")
    print("goals: per-pod p99 <= 1 s; kubelet idle <= 0.1 core and <= 50 MiB RSS")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--runtimes", default="containerd,runc,fake")
    args = parser.parse_args()
    rounds, floors = asyncio.run(
        run(args.runtimes.split(","), pods=args.pods, idle_s=args.idle_seconds, runs=args.runs)
    )
    report(rounds, floors, pods=args.pods, idle_s=args.idle_seconds)


if __name__ == "__main__":
    main()
