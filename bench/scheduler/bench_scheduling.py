"""Scheduler benchmark shaped like upstream scheduler_perf, the binder in memory (the algorithm alone).

    python -m bench.scheduler.bench_scheduling [--workload basic|anti-affinity|anti-affinity-5000|all]

SchedulingBasic: 5,000 nodes, 1,000 initial pods, 10,000 measured pods (upstream's node-default and
pod-default templates). SchedulingPodAntiAffinity: pods with a required hostname anti-affinity on each
other, 500 nodes with 100 initial and 400 measured pods (the 500-node variant of upstream's older
config) and 5,000 nodes with 1,000 initial and 2,000 measured pods (the thresholded one).

Prints average throughput (measured pods / time from their creation to the last bind, parsing
included) and per-pod scheduling attempt latency p50/p99, with the ratio to the threshold upstream's
ci-benchmark-scheduler-perf job requires of kube-scheduler (quoted: test/integration/scheduler_perf
performance-config.yaml). The second ratio divides measured pods by this process's CPU seconds, which
other work on a shared machine inflates less than it does wall-clock time."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scheduler.cluster import InMemoryCluster
from scheduler.config import SchedulerConfig
from scheduler.scheduler import Scheduler

Json = dict[str, Any]


@dataclass(frozen=True)
class Workload:
    name: str
    nodes: int
    initial_pods: int
    measured_pods: int
    make_pod: Callable[[str, str], Json]
    threshold: float  # pods/s, upstream's performance-config.yaml


def scheduler_perf_node(index: int) -> Json:
    name = f"scheduler-perf-{index}"
    capacity = {"pods": "110", "cpu": "4", "memory": "32Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {"capacity": capacity, "allocatable": capacity, "phase": "Running"},
    }


def _pod(name: str, namespace: str, labels: Json, affinity: Json | None = None) -> Json:
    container = {
        "name": "pause",
        "image": "registry.k8s.io/pause:3.10",
        "ports": [{"containerPort": 80}],
        "resources": {
            "limits": {"cpu": "100m", "memory": "500Mi"},
            "requests": {"cpu": "100m", "memory": "500Mi"},
        },
    }
    spec: Json = {"containers": [container]}
    if affinity:
        spec["affinity"] = affinity
    meta = {"name": name, "namespace": namespace, "uid": f"{namespace}-{name}", "labels": labels}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def default_pod(name: str, namespace: str) -> Json:
    return _pod(name, namespace, {})


def anti_affinity_pod(name: str, namespace: str) -> Json:
    term = {
        "labelSelector": {"matchLabels": {"color": "green"}},
        "topologyKey": "kubernetes.io/hostname",
        "namespaces": ["sched-0", "sched-1"],
    }
    affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return _pod(name, namespace, {"color": "green", "name": "test"}, affinity)


WORKLOADS = {
    "basic": Workload("SchedulingBasic/5000Nodes_10000Pods", 5000, 1000, 10000, default_pod, 680.0),
    "anti-affinity": Workload("SchedulingPodAntiAffinity/500Nodes", 500, 100, 400, anti_affinity_pod, 60.0),
    "anti-affinity-5000": Workload(
        "SchedulingPodAntiAffinity/5000Nodes_2000Pods", 5000, 1000, 2000, anti_affinity_pod, 60.0
    ),
}


@dataclass(frozen=True)
class Result:
    throughput: float
    cpu_throughput: float  # measured pods per CPU second of this process: steadier on a shared machine
    p50_ms: float
    p99_ms: float
    bound: int


async def _schedule_until_empty(scheduler: Scheduler, latencies: list[float] | None) -> None:
    queue = scheduler.queue
    while (queued := queue.pop_nowait()) is not None:
        started = time.perf_counter()
        await scheduler.schedule(queued)
        if latencies is not None:
            latencies.append(time.perf_counter() - started)


async def run_workload(workload: Workload, seed: int = 1) -> Result:
    cluster = InMemoryCluster(record_events=False)
    scheduler = Scheduler(SchedulerConfig(), cluster, rng=random.Random(seed))
    cluster.watch(scheduler)
    for i in range(workload.nodes):
        cluster.add_node(scheduler_perf_node(i))
    for i in range(workload.initial_pods):
        cluster.add_pod(workload.make_pod(f"init-{i}", "sched-0"))
    await _schedule_until_empty(scheduler, None)
    latencies: list[float] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(workload.measured_pods):
        cluster.add_pod(workload.make_pod(f"pod-{i}", "sched-1"))
    await _schedule_until_empty(scheduler, latencies)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    bound = sum(1 for key in cluster.pods if key.startswith("sched-1/") and cluster.node_of(key))
    quantiles = statistics.quantiles(latencies, n=100)
    return Result(
        workload.measured_pods / elapsed,
        workload.measured_pods / cpu,
        quantiles[49] * 1000,
        quantiles[98] * 1000,
        bound,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    args = parser.parse_args()
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    print(
        f"{'workload (in-memory binder)':<46} {'pods/s':>7} {'/cpu-s':>7} {'threshold':>9} "
        f"{'ratio':>6} {'cpu':>6} {'p50 ms':>7} {'p99 ms':>7} bound"
    )
    for name in names:
        workload = WORKLOADS[name]
        result = asyncio.run(run_workload(workload))
        ratio = result.throughput / workload.threshold
        print(
            f"{workload.name:<46} {result.throughput:>7.0f} {result.cpu_throughput:>7.0f} "
            f"{workload.threshold:>9.0f} {ratio:>5.2f}x {result.cpu_throughput / workload.threshold:>5.2f}x "
            f"{result.p50_ms:>7.2f} {result.p99_ms:>7.2f} {result.bound}/{workload.measured_pods}"
        )


if __name__ == "__main__":
    main()
