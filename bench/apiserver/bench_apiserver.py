"""Apiserver benchmark, each number beside its goal and against the store's raw rate in the same run.

    python -m bench.apiserver.bench_apiserver [--seconds 5] [--list-pods 10000] [--dir DIR]

Runs `tinykube apiserver` (SQLite) as its own process and drives it over HTTPS from this one:
pod creates/s from 16 concurrent clients vs the raw put rate of an SQLiteStore for the same bytes
with 16 writers (goal >= 50%), GET p50/p99 (goal p99 <= 20 ms), LIST of 10,000 pods (goal <= 1 s)
and watch delivery p99 with 100 watchers (goal <= 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from api.server.objects import encode
from api.server.tls import client_context
from api.storage.sqlite import SQLiteStore
from tinykube.testbeds.apiserver import apiserver_process

CLIENTS = 16
WATCHERS = 100
WATCHED_CREATES = 100


def _pod(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "bench", "tier": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "registry.local/bench/app:1.0",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                }
            ]
        },
    }


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def raw_puts_per_second(directory: Path, seconds: float) -> float:
    value = encode(_pod("x"))
    async with SQLiteStore(directory / "raw.db") as store:
        stop_at = time.monotonic() + seconds
        counts = [0] * CLIENTS

        async def writer(index: int) -> None:
            while time.monotonic() < stop_at:
                await store.create(f"/registry/pods/default/w{index}-{counts[index]}".encode(), value)
                counts[index] += 1

        started = time.monotonic()
        await asyncio.gather(*(writer(i) for i in range(CLIENTS)))
        return sum(counts) / (time.monotonic() - started)


async def creates_per_second(session: aiohttp.ClientSession, url: str, seconds: float) -> tuple[float, int]:
    stop_at = time.monotonic() + seconds
    counts = [0] * CLIENTS

    async def client(index: int) -> None:
        while time.monotonic() < stop_at:
            async with session.post(
                f"{url}/api/v1/namespaces/default/pods", json=_pod(f"c{index}-{counts[index]}")
            ) as response:
                assert response.status == 201, await response.text()
                await response.read()
            counts[index] += 1

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return sum(counts) / (time.monotonic() - started), sum(counts)


async def get_latencies_ms(
    session: aiohttp.ClientSession, url: str, names: list[str], seconds: float
) -> list[float]:
    samples: list[float] = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        async with session.get(f"{url}/api/v1/namespaces/default/pods/{random.choice(names)}") as response:
            await response.read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def fill(session: aiohttp.ClientSession, url: str, total: int, existing: int) -> None:
    queue = list(range(existing, total))

    async def client() -> None:
        while queue:
            index = queue.pop()
            async with session.post(
                f"{url}/api/v1/namespaces/default/pods", json=_pod(f"f{index}")
            ) as response:
                await response.read()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


async def list_ms(session: aiohttp.ClientSession, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.get(f"{url}/api/v1/namespaces/default/pods") as response:
        body = await response.read()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, len(json.loads(body)["items"])


async def watch_latencies_ms(session: aiohttp.ClientSession, url: str) -> list[float]:
    async with session.post(
        f"{url}/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "watched"}},
    ) as response:
        await response.read()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    ready = asyncio.Semaphore(0)

    async def watcher() -> None:
        async with session.get(
            f"{url}/api/v1/namespaces/watched/pods?watch=1&timeoutSeconds=120"
        ) as response:
            ready.release()
            received = 0
            async for line in response.content:
                now = time.perf_counter()
                name = json.loads(line)["object"]["metadata"]["name"]
                latencies.append((now - sent[name]) * 1000)
                received += 1
                if received == WATCHED_CREATES:
                    return

    tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
    for _ in range(WATCHERS):
        await ready.acquire()
    for index in range(WATCHED_CREATES):
        name = f"w{index}"
        sent[name] = time.perf_counter()
        async with session.post(
            f"{url}/api/v1/namespaces/watched/pods", json=_pod(name, "watched")
        ) as response:
            await response.read()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return latencies


def _line(name: str, value: str, goal: str, ok: bool) -> str:
    return f"{name:<44} {value:>24}   goal {goal:<22} {'met' if ok else 'NOT met'}"


async def run(directory: Path, seconds: float, list_pods: int) -> str:
    raw = await raw_puts_per_second(directory, seconds)
    lines = []
    async with apiserver_process(directory / "apiserver") as server:
        url, pki = server.url, server.pki
        connector = aiohttp.TCPConnector(ssl=client_context(pki), limit=WATCHERS + CLIENTS + 10)
        async with aiohttp.ClientSession(connector=connector) as session:
            rate, created = await creates_per_second(session, url, seconds)
            ratio = rate / raw
            lines.append(
                _line(
                    "pod creates/s, 16 clients",
                    f"{rate:,.0f}/s ({ratio:.0%} of raw)",
                    ">= 50% of raw",
                    ratio >= 0.5,
                )
            )
            lines.append(
                _line("  store raw puts/s, 16 writers, same bytes", f"{raw:,.0f}/s", "(reference)", True)
            )
            names = [f"c0-{i}" for i in range(min(created // CLIENTS, 500))]
            samples = await get_latencies_ms(session, url, names, seconds)
            p50, p99 = statistics.median(samples), _percentile(samples, 0.99)
            lines.append(_line("GET pod p50 / p99", f"{p50:.1f} / {p99:.1f} ms", "p99 <= 20 ms", p99 <= 20))
            await fill(session, url, list_pods, created)
            elapsed, count = await list_ms(session, url)
            lines.append(_line(f"LIST {count:,} pods", f"{elapsed:,.0f} ms", "<= 1000 ms", elapsed <= 1000))
            latencies = await watch_latencies_ms(session, url)
            p99 = _percentile(latencies, 0.99)
            lines.append(
                _line(
                    f"watch delivery p50 / p99, {WATCHERS} watchers",
                    f"{statistics.median(latencies):.1f} / {p99:.1f} ms",
                    "p99 <= 100 ms",
                    p99 <= 100,
                )
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--list-pods", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        print(asyncio.run(run(args.dir, args.seconds, args.list_pods)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-apiserver-", dir=os.environ.get("TMPDIR")) as tmp:
        print(asyncio.run(run(Path(tmp), args.seconds, args.list_pods)))


if __name__ == "__main__":
    main()
