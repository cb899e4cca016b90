"""Where a static pod's startup time goes, per phase: the kubelet runs in this process with its CRI
client and hooks wrapped to timestamp each step of every pod's first start.

    python -m bench.kubelet.trace_startup [--pods 30] [--runtime containerd|runc|fake]

Phases, per pod, from the manifest write: ``detect`` (the static source hands the pod to the
workers), ``queue`` (the pod's worker begins its first sync), one line per CRI call made from the
pod's syncs (RunPodSandbox, ImageStatus...), ``relist`` (PLEG relists awaited by the sync,
including waiting for the relist lock), and ``published`` (the status store first holds the pod
with every container running: what ``/pods`` serves). A diagnostic, not a benchmark: numbers
from ``bench_static_pods`` are the ones to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import functools
import signal
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.core.v1.pods import pod_name
from api.model.core_v1 import Pod, PodStatus
from cri.client import CRIClient
from kubelet.config import load_config
from kubelet.node import Kubelet, build_kubelet, running
from tinykube.testbeds.kubelet_process import CONTAINERD, eventually, write_config
from tinykube.testbeds.runc_shim import ShimProcess, make_layout

from .bench_static_pods import POD, SETTLE_S, fake_shim

CRI_CALLS = (
    "run_pod_sandbox", "pod_sandbox_status", "image_status", "pull_image", "create_container",
    "start_container", "list_pod_sandbox", "list_containers", "container_status",
)  # fmt: skip
_current_pod: contextvars.ContextVar[str] = contextvars.ContextVar("pod", default="")


@dataclass
class Trace:
    written: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    first_sync: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)
    spans: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    all_published: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, pod: str, phase: str, seconds: float) -> None:
        if pod and pod not in self.published:
            self.spans[pod][phase] += seconds


def _short(name: str) -> str:
    return name.rsplit("-", 1)[0]


@contextlib.contextmanager
def _span(trace: Trace, phase: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        trace.add(_current_pod.get(), phase, time.monotonic() - started)


def _timed(trace: Trace, phase: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(call)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _span(trace, phase):
            return await call(*args, **kwargs)

    return wrapper


def _running(status: PodStatus) -> bool:
    states = [s.state for s in status.container_statuses or ()]
    return bool(states) and all(s is not None and s.running is not None for s in states)


def instrument(kubelet: Kubelet, client: CRIClient, trace: Trace, *, pods: int) -> None:
    for name in CRI_CALLS:
        setattr(client, name, _timed(trace, name, getattr(client, name)))
    setattr(kubelet.pleg, "relist", _timed(trace, "relist (incl. lock wait)", kubelet.pleg.relist))  # noqa: B010
    on_pods = kubelet.on_pods

    def seen(update: Mapping[str, Pod]) -> None:
        for pod in update.values():
            trace.seen.setdefault(_short(pod_name(pod)), time.monotonic())
        on_pods(update)

    kubelet.source.on_update = seen
    sync = kubelet.workers._sync

    async def traced_sync(pod: Pod) -> float:
        name = _short(pod_name(pod))
        trace.first_sync.setdefault(name, time.monotonic())
        _current_pod.set(name)
        return await sync(pod)

    kubelet.workers._sync = traced_sync
    store_set = kubelet.statuses.set
    loop = asyncio.get_running_loop()

    def publish(uid: str, status: PodStatus) -> None:
        store_set(uid, status)
        pod = kubelet.pods.get(uid)
        if pod is not None and _running(status):
            trace.published.setdefault(_short(pod_name(pod)), time.monotonic())
            if len(trace.published) >= pods:
                loop.call_soon_threadsafe(trace.all_published.set)

    kubelet.statuses.set = publish  # type: ignore[method-assign]


async def traced_run(endpoint: str, base: Path, *, pods: int) -> Trace:
    config = load_config(write_config(base, endpoint=endpoint))
    async with await CRIClient.connect(endpoint, timeout=30) as client:
        kubelet = build_kubelet(config, client)
        trace = Trace()
        instrument(kubelet, client, trace, pods=pods)
        async with running(kubelet):
            return await _traced_pods(kubelet, Path(config.static_pod_path), trace, pods=pods)


async def _traced_pods(kubelet: Kubelet, manifests: Path, trace: Trace, *, pods: int) -> Trace:
    try:
        for index in range(pods):
            (manifests / f"bench-{index}.yaml").write_text(POD.format(index=index))
            trace.written[f"bench-{index}"] = time.monotonic()
        async with asyncio.timeout(SETTLE_S):
            await trace.all_published.wait()
        return trace
    finally:
        await asyncio.to_thread(_remove_manifests, manifests)

        async def drained() -> bool:
            return not (kubelet.pods or kubelet.pleg.snapshot.pods)

        await eventually(drained, "the traced pods terminated", SETTLE_S)


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98] if len(ordered) > 1 else ordered[0]
    return f"{statistics.median(ordered):>8.3f}s{p99:>8.3f}s{max(ordered):>8.3f}s"


def report(trace: Trace, runtime: str) -> None:
    names = sorted(trace.published)
    phases: dict[str, list[float]] = {
        "detect": [trace.seen[n] - trace.written[n] for n in names],
        "queue": [trace.first_sync[n] - trace.seen[n] for n in names],
    }
    for phase in sorted({p for n in names for p in trace.spans[n]}):
        phases[phase] = [trace.spans[n].get(phase, 0.0) for n in names]
    phases["total (write -> published)"] = [trace.published[n] - trace.written[n] for n in names]
    print(f"{runtime}: {len(names)} pods; per pod, time spent in each phase (CRI calls can overlap)")
    print(f"{'phase':<30}{'median':>9}{'p99':>9}{'max':>9}")
    for phase, values in phases.items():
        print(f"{phase:<30}{_stats(values)}")


def _remove_manifests(directory: Path) -> None:
    for manifest in directory.iterdir():
        manifest.unlink()


async def run(runtime: str, *, pods: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tinykube-trace-kubelet-") as directory:
        base = Path(directory)
        if runtime == "containerd":
            report(await traced_run(CONTAINERD, base / "k", pods=pods), runtime)
        elif runtime == "fake":
            process = await fake_shim(base / "fake.sock")
            try:
                report(await traced_run(f"unix://{base / 'fake.sock'}", base / "k", pods=pods), runtime)
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        else:
            layout = await asyncio.to_thread(make_layout, base / "runc-shim")
            shim = ShimProcess(layout, base / "runc.sock")
            await (await shim.start()).close()
            try:
                report(await traced_run(f"unix://{base / 'runc.sock'}", base / "k", pods=pods), runtime)
            finally:
                await shim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runtime", default="containerd", choices=["containerd", "runc", "fake"])
    args = parser.parse_args()
    asyncio.run(run(args.runtime, pods=args.pods))


if __name__ == "__main__":
    main()
