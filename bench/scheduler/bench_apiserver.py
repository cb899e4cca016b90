"""SchedulingBasic through our apiserver on the SQLite store: upstream scheduler_perf's shape end to end.

    python -m bench.scheduler.bench_apiserver [--nodes 5000] [--initial-pods 1000] [--pods 10000]

Nodes (node-default template) and initial pods are created first and the initial pods scheduled; then
the measured pods are created (32 requests in flight) while `tinykube scheduler`'s app, over the
RestClient, schedules and binds them. Prints average throughput (measured pods / time from the first
create to the last bind seen by a watch) and per-pod latency create -> bound p50/p99, beside the
threshold upstream's CI requires of kube-scheduler (680 pods/s, on larger machines)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from api.client.informer import EventHandler, InformerFactory
from api.client.kubeconfig import load_kubeconfig
from api.client.protocol import Api
from api.client.resources import NAMESPACES, NODES, PODS
from api.client.rest import RestClient
from api.client.types import PatchType
from bench.scheduler.bench_scheduling import default_pod, scheduler_perf_node
from scheduler.app import Options, SchedulerApp
from scheduler.config import SchedulerConfig
from tinykube.testbeds.apiserver import running_apiserver

THRESHOLD = 680.0
IN_FLIGHT = 32


async def _all(calls: list[Any]) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(call: Any) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(call) for call in calls))


async def _create_nodes(api: Api, count: int) -> None:
    async def create(index: int) -> None:
        node = scheduler_perf_node(index)
        status = node.pop("status")
        await api.create(NODES, node)
        name = node["metadata"]["name"]
        await api.patch(NODES, name, {"status": status}, patch_type=PatchType.MERGE, subresource="status")

    await _all([lambda i=i: create(i) for i in range(count)])


class BindWatch:
    """Bind times of pods in one namespace, seen through a pods informer."""

    def __init__(self, factory: InformerFactory, namespace: str) -> None:
        self.namespace = namespace
        self.bound: dict[str, float] = {}
        self.changed = asyncio.Event()
        factory.informer(PODS).add_handler(
            EventHandler(on_add=self._seen, on_update=lambda old, new: self._seen(new))
        )

    def _seen(self, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata", {})
        if meta.get("namespace") == self.namespace and pod.get("spec", {}).get("nodeName"):
            self.bound.setdefault(meta["name"], time.perf_counter())
            self.changed.set()

    async def until(self, count: int) -> None:
        while len(self.bound) < count:
            self.changed.clear()
            await self.changed.wait()


async def _create_pods(api: Api, namespace: str, prefix: str, count: int, created: dict[str, float]) -> None:
    async def create(index: int) -> None:
        name = f"{prefix}-{index}"
        pod = default_pod(name, namespace)
        pod["metadata"].pop("uid")
        created[name] = time.perf_counter()
        await api.create(PODS, pod, namespace=namespace)

    await _all([lambda i=i: create(i) for i in range(count)])


async def run(nodes: int, initial: int, measured: int, workdir: Path) -> tuple[float, float, float]:
    async with (
        running_apiserver(workdir, storage="sqlite:") as server,
        RestClient(load_kubeconfig(server.kubeconfig)) as api,
    ):
        for namespace in ("sched-0", "sched-1"):
            await api.create(
                NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
        await _create_nodes(api, nodes)
        watches = InformerFactory(api)
        initial_watch, measured_watch = BindWatch(watches, "sched-0"), BindWatch(watches, "sched-1")
        app = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="bench"))
        async with asyncio.TaskGroup() as tasks:
            running = [tasks.create_task(watches.run()), tasks.create_task(app.run())]
            await _create_pods(api, "sched-0", "init", initial, {})
            await initial_watch.until(initial)
            created: dict[str, float] = {}
            started = time.perf_counter()
            await _create_pods(api, "sched-1", "pod", measured, created)
            await measured_watch.until(measured)
            elapsed = max(measured_watch.bound.values()) - started
            for task in running:
                task.cancel()
    latencies = sorted(measured_watch.bound[name] - created[name] for name in created)
    quantiles = statistics.quantiles(latencies, n=100)
    return measured / elapsed, quantiles[49] * 1000, quantiles[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--initial-pods", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        throughput, p50, p99 = asyncio.run(run(args.nodes, args.initial_pods, args.pods, Path(workdir)))
    name = f"SchedulingBasic/{args.nodes}Nodes_{args.pods}Pods (apiserver, SQLite)"
    print(f"{'workload':<52} {'pods/s':>7} {'threshold':>9} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8}")
    ratio = throughput / THRESHOLD
    print(f"{name:<52} {throughput:>7.0f} {THRESHOLD:>9.0f} {ratio:>5.2f}x {p50:>8.1f} {p99:>8.1f}")


if __name__ == "__main__":
    main()
