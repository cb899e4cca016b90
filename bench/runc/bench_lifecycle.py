"""Pod and container lifecycle latency: the runc shim against containerd's built-in CRI, in one run.

    python -m bench.runc.bench_lifecycle [--iterations 100] [--runs 1]
        [--containerd unix:///run/containerd/containerd.sock]

Runs ``tinykube shim --backend runc`` as its own process (a temporary root, state and CNI config on
bridge tkrunc0) beside containerd's CRI and times, on each: RunPodSandbox → CreateContainer →
StartContainer → ExecSync (``true``, as an exec probe) → StopContainer → RemoveContainer →
StopPodSandbox → RemovePodSandbox, ``--iterations`` times, the cycles of the two runtimes
alternating. Prints p50/p90 per RPC for both and the ratio ours/containerd (below 1.0: we are
faster); with ``--runs N`` also the medians over the N runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from cri import domain as d
from cri.client import CRIClient
from tinykube.testbeds.runc_shim import ShimProcess, make_layout

IMAGE = "docker.io/library/busybox:1.36"
OPERATIONS = (
    "RunPodSandbox", "CreateContainer", "StartContainer", "ExecSync", "StopContainer",
    "RemoveContainer", "StopPodSandbox", "RemovePodSandbox",
)  # fmt: skip
PROBE = ("true",)
CALL_TIMEOUT = 60.0


@dataclass
class Samples:
    seconds: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})

    async def timed(self, operation: str, call: Callable[[], Awaitable[object]]) -> object:
        started = time.perf_counter()
        result = await call()
        self.seconds[operation].append(time.perf_counter() - started)
        return result

    def percentile(self, operation: str, fraction: float) -> float:
        values = sorted(self.seconds[operation])
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def pod_config(index: int, log_root: Path) -> d.PodSandboxConfig:
    uid = uuid.uuid4().hex
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=f"bench-{index}", namespace="bench", uid=uid),
        hostname=f"bench-{index}",
        log_directory=str(log_root / uid),
        labels={"tinykube.bench": "lifecycle"},
        linux=d.LinuxPodSandboxConfig(),
    )


CONTAINER = d.ContainerConfig(
    metadata=d.ContainerMetadata(name="main"),
    image=d.ImageSpec(image=IMAGE),
    command=("sleep", "3600"),
    log_path="main/0.log",
    linux=d.LinuxContainerConfig(),
)


async def one_cycle(client: CRIClient, samples: Samples, index: int, log_root: Path) -> None:
    pod = pod_config(index, log_root)
    pod_id = str(await samples.timed("RunPodSandbox", lambda: client.run_pod_sandbox(pod)))
    container_id = str(
        await samples.timed("CreateContainer", lambda: client.create_container(pod_id, CONTAINER, pod))
    )
    await samples.timed("StartContainer", lambda: client.start_container(container_id))
    await samples.timed("ExecSync", lambda: client.exec_sync(container_id, PROBE, timeout=10))
    await samples.timed("StopContainer", lambda: client.stop_container(container_id, grace_seconds=10))
    await samples.timed("RemoveContainer", lambda: client.remove_container(container_id))
    await samples.timed("StopPodSandbox", lambda: client.stop_pod_sandbox(pod_id))
    await samples.timed("RemovePodSandbox", lambda: client.remove_pod_sandbox(pod_id))


async def measure(
    ours: CRIClient, reference: CRIClient, *, iterations: int, log_root: Path
) -> tuple[Samples, Samples]:
    """Cycles alternate between the two runtimes (and which goes first), so load drifts hit both alike."""
    clients = {"ours": ours, "reference": reference}
    samples = {name: Samples() for name in clients}
    for name, client in clients.items():
        await client.pull_image(IMAGE)
        await one_cycle(client, Samples(), -1, log_root / name)  # warm-up: bridge, caches, directories
    for index in range(iterations):
        order = ("ours", "reference") if index % 2 == 0 else ("reference", "ours")
        for name in order:
            await one_cycle(clients[name], samples[name], index, log_root / name)
    return samples["ours"], samples["reference"]


def report(ours: Samples, reference: Samples, *, iterations: int) -> str:
    lines = [
        f"lifecycle latency over {iterations} iterations (ms); ratio = runc shim / containerd",
        f"{'operation':<18}{'ours p50':>10}{'ours p90':>10}{'ctrd p50':>10}{'ctrd p90':>10}"
        f"{'p50 ratio':>11}{'p90 ratio':>11}",
    ]
    for op in OPERATIONS:
        o50, o90 = ours.percentile(op, 0.5) * 1e3, ours.percentile(op, 0.9) * 1e3
        r50, r90 = reference.percentile(op, 0.5) * 1e3, reference.percentile(op, 0.9) * 1e3
        lines.append(
            f"{op:<18}{o50:>10.1f}{o90:>10.1f}{r50:>10.1f}{r90:>10.1f}{o50 / r50:>11.2f}{o90 / r90:>11.2f}"
        )
    return "\n".join(lines)


def summary(runs: list[tuple[Samples, Samples]]) -> str:
    """Per operation: the median over runs of each run's p50 (ours, containerd) and of its p50 ratio."""
    lines = [
        f"median over {len(runs)} runs of each run's p50 (ms)",
        f"{'operation':<18}{'ours':>10}{'ctrd':>10}{'ratio':>9}   per-run ratios",
    ]
    for op in OPERATIONS:
        ours = [o.percentile(op, 0.5) * 1e3 for o, _ in runs]
        theirs = [r.percentile(op, 0.5) * 1e3 for _, r in runs]
        ratios = [o / r for o, r in zip(ours, theirs, strict=True)]
        lines.append(
            f"{op:<18}{statistics.median(ours):>10.1f}{statistics.median(theirs):>10.1f}"
            f"{statistics.median(ratios):>9.2f}   " + " ".join(f"{r:.2f}" for r in ratios)
        )
    return "\n".join(lines)


async def run(iterations: int, containerd: str, *, runs: int) -> str:
    with tempfile.TemporaryDirectory(prefix="tinykube-bench-runc-") as scratch:
        base = Path(scratch)
        layout = await asyncio.to_thread(make_layout, base / "shim")
        shim = ShimProcess(layout, base / "runc.sock")
        client = await shim.start()
        results: list[tuple[Samples, Samples]] = []
        reports: list[str] = []
        try:
            reference_client = await CRIClient.connect(containerd, timeout=CALL_TIMEOUT)
            try:
                for _ in range(runs):
                    results.append(
                        await measure(client, reference_client, iterations=iterations, log_root=base / "logs")
                    )
                    reports.append(report(*results[-1], iterations=iterations))
            finally:
                await reference_client.close()
        finally:
            await client.close()
            await shim.stop()
    return "\n\n".join([*reports, summary(results)] if runs > 1 else reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--containerd", default="unix:///run/containerd/containerd.sock")
    parser.add_argument("--runs", type=int, default=1, help="repeat; also print medians over runs")
    args = parser.parse_args()
    print(asyncio.run(run(args.iterations, args.containerd, runs=args.runs)))


if __name__ == "__main__":
    main()
