"""Store benchmark: the embedded SQLite store against an etcd 3.4 started on this machine, in one run.

    python -m bench.store.bench_store [--seconds 3] [--rounds 2] [--etcd-members 1] [--dir DIR]

Prints writes/s (durable) at 1 and 16 writers, single-key reads/s, the time to list 10,000 keys and
watch delivery latency (write issued -> event received) p50/p99 with 100 watchers, with ratios ours/etcd.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from api.storage.etcd import EtcdOptions, EtcdStore
from api.storage.etcdserver import EtcdEndpoint
from api.storage.keys import prefix_end
from api.storage.protocol import Store, Watch
from api.storage.sqlite import SQLiteStore
from bench.store.etcd_process import running_etcd

VALUE = bytes(range(256)) * 2  # 512 B, about a small Kubernetes object
LIST_KEYS = 10_000
WATCHERS = 100
WATCHED_WRITES = 200


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    higher_is_better: bool


METRICS = (
    Metric("writes/s, 1 writer", "ops/s", True),
    Metric("writes/s, 16 writers", "ops/s", True),
    Metric("reads/s, single key", "ops/s", True),
    Metric(f"list {LIST_KEYS:,} keys", "ms", False),
    Metric(f"watch p50, {WATCHERS} watchers", "ms", False),
    Metric(f"watch p99, {WATCHERS} watchers", "ms", False),
)


async def _writes_per_second(store: Store, *, writers: int, seconds: float, tag: str) -> float:
    stop_at = time.monotonic() + seconds
    counts = [0] * writers

    async def writer(index: int) -> None:
        while time.monotonic() < stop_at:
            await store.create(f"/bench/{tag}/w{index}/{counts[index]:08}".encode(), VALUE)
            counts[index] += 1

    started = time.monotonic()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    return sum(counts) / (time.monotonic() - started)


async def _reads_per_second(store: Store, *, seconds: float) -> float:
    keys = [f"/bench/read/{i:05}".encode() for i in range(1000)]
    for key in keys:
        await store.create(key, VALUE)
    rng = random.Random(7)
    stop_at = time.monotonic() + seconds
    count = 0
    started = time.monotonic()
    while time.monotonic() < stop_at:
        got = await store.get(rng.choice(keys))
        assert got.kv is not None
        count += 1
    return count / (time.monotonic() - started)


async def _list_ms(store: Store) -> float:
    prefix = b"/bench/list/"
    await asyncio.gather(*(_fill(store, prefix, start) for start in range(0, LIST_KEYS, LIST_KEYS // 16)))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        listed = await store.list(prefix)
        samples.append((time.perf_counter() - started) * 1000)
        assert listed.count == LIST_KEYS and len(listed.kvs) == LIST_KEYS
    return statistics.median(samples)


async def _fill(store: Store, prefix: bytes, start: int) -> None:
    for i in range(start, min(start + LIST_KEYS // 16, LIST_KEYS)):
        await store.create(prefix + b"%05d" % i, VALUE)


async def _watch_latencies_ms(store: Store) -> list[float]:
    prefix = b"/bench/watch/"
    issued: dict[int, float] = {}
    latencies: list[float] = []
    watches = [
        await store.watch(prefix, range_end=prefix_end(prefix), prev_kv=False) for _ in range(WATCHERS)
    ]

    async def consume(watch: Watch) -> None:
        seen = 0
        async for batch in watch:
            received = time.perf_counter()
            for event in batch.events:
                index = int(event.kv.key.rsplit(b"/", 1)[1])
                latencies.append((received - issued[index]) * 1000)
                seen += 1
            if seen >= WATCHED_WRITES:
                return

    consumers = [asyncio.create_task(consume(w)) for w in watches]
    try:
        for i in range(WATCHED_WRITES):
            issued[i] = time.perf_counter()
            await store.create(prefix + b"%05d" % i, VALUE)
        async with asyncio.timeout(60):
            await asyncio.gather(*consumers)
    finally:
        for watch in watches:
            await watch.close()
    return latencies


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(store: Store, *, seconds: float) -> list[float]:
    sequential = await _writes_per_second(store, writers=1, seconds=seconds, tag="seq")
    concurrent = await _writes_per_second(store, writers=16, seconds=seconds, tag="par")
    reads = await _reads_per_second(store, seconds=seconds)
    listing = await _list_ms(store)
    latencies = await _watch_latencies_ms(store)
    return [sequential, concurrent, reads, listing, _percentile(latencies, 0.5), _percentile(latencies, 0.99)]


class Opener(Protocol):
    def __call__(self, directory: Path, *, members: int) -> AbstractAsyncContextManager[Store]: ...


@asynccontextmanager
async def _sqlite(directory: Path, *, members: int) -> AsyncIterator[Store]:
    async with SQLiteStore(directory / "sqlite" / "state.db") as store:
        yield store


@asynccontextmanager
async def _etcd(directory: Path, *, members: int) -> AsyncIterator[Store]:
    with running_etcd(directory / "etcd", members=members) as endpoints:
        async with EtcdStore(EtcdOptions(endpoints=endpoints)) as store:
            yield store


@asynccontextmanager
async def _endpoint(directory: Path, *, members: int) -> AsyncIterator[Store]:
    async with SQLiteStore(directory / "endpoint" / "state.db") as backing:
        endpoint = EtcdEndpoint(backing, listen="127.0.0.1:0")
        await endpoint.start()
        try:
            async with EtcdStore(EtcdOptions(endpoints=(endpoint.address,))) as client:
                yield client
        finally:
            await endpoint.stop(0)


def _format(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def render(results: dict[str, list[float]]) -> str:
    names = list(results)
    ours = [n for n in names if n != "etcd"]
    header = ["metric", "unit", *names, *(f"{n}/etcd" for n in ours)]
    rows = []
    for index, metric in enumerate(METRICS):
        reference = results["etcd"][index]
        ratios = [f"{results[n][index] / reference:.2f}x" for n in ours]
        rows.append([metric.name, metric.unit, *(_format(results[n][index]) for n in names), *ratios])
    widths = [max(len(str(row[c])) for row in [header, *rows]) for c in range(len(header))]
    lines = ["  ".join(str(cell).ljust(widths[c]) for c, cell in enumerate(row)) for row in [header, *rows]]
    note = "ratios: ours/etcd (throughput: higher is better; ms: lower is better)"
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:], note])


async def run(args: argparse.Namespace) -> str:
    if args.dir:
        return await run_in(Path(args.dir), args)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as scratch:
        return await run_in(Path(scratch), args)


async def run_in(base: Path, args: argparse.Namespace) -> str:
    """Rounds alternate which store goes first, so drifting load (and a warm page cache) hits both alike.

    Every measurement gets a fresh store: our stores in a new directory, etcd as a new cluster.
    """
    targets: dict[str, Opener] = {"sqlite": _sqlite, "etcd": _etcd}
    if args.endpoint:
        targets["endpoint"] = _endpoint
    names = [name for name in ("sqlite", "endpoint", "etcd") if name in targets]
    samples: dict[str, list[list[float]]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            async with targets[name](base / f"round-{round_}", members=args.etcd_members) as store:
                samples[name].append(await measure(store, seconds=args.seconds))
    results = {name: _medians(rows) for name, rows in samples.items()}
    return render(results) + f"\n(medians of {args.rounds} rounds, alternating which store goes first)"


def _medians(rows: list[list[float]]) -> list[float]:
    return [statistics.median(column) for column in zip(*rows, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store.bench_store", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each throughput phase")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per store, order alternating")
    parser.add_argument("--etcd-members", type=int, choices=[1, 3], default=1, help="reference etcd size")
    parser.add_argument("--endpoint", action="store_true", help="also measure our etcd endpoint over gRPC")
    parser.add_argument("--dir", help="where the databases go (default: a new temporary directory)")
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
