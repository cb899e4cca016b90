"""30 static pods written at once: time until every container runs (as /pods shows it), per-pod
p50/p99, then the kubelet's CPU and RSS while the pods idle. On containerd's CRI and the runc shim
in the same run, with the in-memory fake shim as the reference for the kubelet's own share.

    python -m bench.kubelet.bench_static_pods [--pods 30] [--idle-seconds 20]
        [--runtimes containerd,runc,fake]

Needs root and the services from ``.ci/services.sh start`` (containerd with its CRI plugin and the
local registry); the runc shim runs as its own process with the seeded rootfs, as in bench/runc.
The kubelet runs as ``tinykube kubelet`` in its own process, with fileCheckFrequency 200ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.kubelet.kubelet_process import CONTAINERD, KubeletProcess, eventually, write_config
from tests.runc.endpoint import ShimProcess, make_layout

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


async def _fake_shim(socket: Path) -> asyncio.subprocess.Process:
    """The in-memory fake shim: the kubelet's own share of the latency, with a runtime that costs nothing."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "shim", "--backend", "fake", "--socket", str(socket),
        "--log-level", "warning", stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await eventually(lambda: asyncio.to_thread(socket.exists), "the fake shim's socket", 30)
    return process


async def run(runtimes: list[str], *, pods: int, idle_s: float) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="tinykube-bench-kubelet-") as directory:
        base = Path(directory)
        for runtime in runtimes:
            if runtime == "containerd":
                results.append(
                    await measure("containerd CRI", CONTAINERD, base / "containerd", pods=pods, idle_s=idle_s)
                )
            elif runtime == "fake":
                shim_process = await _fake_shim(base / "fake.sock")
                try:
                    endpoint = f"unix://{base / 'fake.sock'}"
                    results.append(
                        await measure("fake (reference)", endpoint, base / "fake", pods=pods, idle_s=idle_s)
                    )
                finally:
                    shim_process.send_signal(signal.SIGTERM)
                    await shim_process.wait()
            elif runtime == "runc":
                layout = await asyncio.to_thread(make_layout, base / "runc-shim")
                shim = ShimProcess(layout, base / "runc.sock")
                client = await shim.start()
                await client.close()
                try:
                    results.append(
                        await measure(
                            "runc shim",
                            f"unix://{base / 'runc.sock'}",
                            base / "runc",
                            pods=pods,
                            idle_s=idle_s,
                        )
                    )
                finally:
                    await shim.stop()
    return results


def report(results: list[Result], *, pods: int, idle_s: float) -> None:
    print(f"{pods} static pods written at once; idle measured over {idle_s:.0f}s")
    print(f"{'runtime':<16}{'all running':>13}{'pod p50':>10}{'pod p99':>10}{'idle CPU':>11}{'idle RSS':>11}")
    for r in results:
        print(
            f"{r.runtime:<16}{r.all_running_s:>12.2f}s{r.percentile(0.5):>9.2f}s{r.percentile(0.99):>9.2f}s"
            f"{r.idle_cpu_cores:>7.3f} core{r.idle_rss_mib:>7.1f} MiB"
        )
    print("goals: per-pod p99 <= 1 s; kubelet idle <= 0.1 core and <= 50 MiB RSS")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--runtimes", default="containerd,runc,fake")
    args = parser.parse_args()
    results = asyncio.run(run(args.runtimes.split(","), pods=args.pods, idle_s=args.idle_seconds))
    report(results, pods=args.pods, idle_s=args.idle_seconds)


if __name__ == "__main__":
    main()
