"""The kubelet's HTTP stack, chosen by measurement: aiohttp against h11 (the kubelet's former server)
and ASGI servers with Starlette, each serving the same two endpoints (``bench.http.servers``).

Per stack, in its own process: requests/s and p99 latency of a JSON GET (a 30-pod /pods body) and
of a chunked streaming response (32 log lines), the server's CPU per request, and its RSS when
idle after a warm-up. Stacks alternate over ``--rounds``; the table shows medians and the ratio to
the reference, h11, measured in the same run. The client is a minimal keep-alive HTTP/1.1 client on
asyncio streams, the same for every stack.

    PYTHONPATH=DIR .venv/bin/python -m bench.http.bench_http [--connections 8] [--requests 3000]

Stacks whose library is not importable are reported as missing; DIR may hold h11, uvicorn,
httptools, hypercorn and starlette (``pip install --target DIR uvicorn starlette hypercorn h11``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.http.servers import MODULES, STACKS

REFERENCE = "h11"
START_TIMEOUT_S = 20.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
WARM_UP_REQUESTS = 50


@dataclass(frozen=True, kw_only=True)
class Load:
    requests_per_s: float
    p99_ms: float
    cpu_us_per_request: float


@dataclass(frozen=True, kw_only=True)
class Round:
    json: Load
    stream: Load
    idle_rss_mib: float


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: bytes) -> int:
    """One keep-alive GET; the body's length."""
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    if not head.startswith(b"http/1.1 200"):
        raise RuntimeError(f"unexpected response: {head[:40]!r}")
    if b"transfer-encoding: chunked" not in head:
        length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        return len(await reader.readexactly(length))
    received = 0
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        received += len(await reader.readexactly(size + 2)) - 2
    await reader.readexactly(2)
    return received


async def _connection(port: int, path: bytes, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            await get(reader, writer, path)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def load(pid: int, port: int, path: bytes, *, connections: int, requests: int) -> Load:
    latencies: list[float] = []
    per_connection = requests // connections
    cpu_before, started = _cpu_s(pid), time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(_connection(port, path, per_connection, latencies))
    wall, cpu = time.perf_counter() - started, _cpu_s(pid) - cpu_before
    return Load(
        requests_per_s=len(latencies) / wall,
        p99_ms=statistics.quantiles(latencies, n=100)[98] * 1000,
        cpu_us_per_request=cpu / len(latencies) * 1e6,
    )


@contextlib.asynccontextmanager
async def server(stack: str) -> AsyncIterator[tuple[int, int]]:
    """(pid, port) of ``stack`` serving in its own process."""
    with tempfile.TemporaryDirectory() as scratch:
        port_file = Path(scratch) / "port"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.http.servers", stack, str(port_file)
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not port_file.exists():
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{stack} did not start")
                await asyncio.sleep(0.02)
            yield process.pid, int(port_file.read_text())
        finally:
            process.kill()
            await process.wait()


async def measure(stack: str, *, connections: int, requests: int) -> Round:
    async with server(stack) as (pid, port):
        for path in (b"/json", b"/stream"):
            await load(pid, port, path, connections=1, requests=WARM_UP_REQUESTS)
        idle_rss = _rss_mib(pid)
        json_load = await load(pid, port, b"/json", connections=connections, requests=requests)
        stream_load = await load(pid, port, b"/stream", connections=connections, requests=requests // 4)
    return Round(json=json_load, stream=stream_load, idle_rss_mib=idle_rss)


def _median(rounds: list[Round]) -> Round:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    def load_median(loads: list[Load]) -> Load:
        return Load(
            requests_per_s=med([x.requests_per_s for x in loads]),
            p99_ms=med([x.p99_ms for x in loads]),
            cpu_us_per_request=med([x.cpu_us_per_request for x in loads]),
        )

    return Round(
        json=load_median([r.json for r in rounds]),
        stream=load_median([r.stream for r in rounds]),
        idle_rss_mib=med([r.idle_rss_mib for r in rounds]),
    )


def _table(results: dict[str, Round]) -> str:
    reference = results[REFERENCE]
    lines = [
        f"{'stack':<21}{'JSON req/s':>12}{'p99 ms':>8}{'CPU us/req':>11}"
        f"{'stream req/s':>14}{'p99 ms':>8}{'CPU us/req':>11}{'idle RSS MiB':>14}",
    ]
    for stack, result in results.items():
        lines.append(
            f"{stack:<21}{result.json.requests_per_s:>12.0f}{result.json.p99_ms:>8.2f}"
            f"{result.json.cpu_us_per_request:>11.0f}{result.stream.requests_per_s:>14.0f}"
            f"{result.stream.p99_ms:>8.2f}{result.stream.cpu_us_per_request:>11.0f}{result.idle_rss_mib:>14.1f}"
        )
    lines.append(f"\nratio to {REFERENCE} (req/s: higher is better; CPU, RSS: lower is better)")
    for stack, result in results.items():
        lines.append(
            f"{stack:<21}JSON req/s x{result.json.requests_per_s / reference.json.requests_per_s:.2f}"
            f"  CPU x{result.json.cpu_us_per_request / reference.json.cpu_us_per_request:.2f}"
            f"  stream req/s x{result.stream.requests_per_s / reference.stream.requests_per_s:.2f}"
            f"  CPU x{result.stream.cpu_us_per_request / reference.stream.cpu_us_per_request:.2f}"
            f"  idle RSS {result.idle_rss_mib - reference.idle_rss_mib:+.1f} MiB"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    stacks = [s for s in STACKS if importlib.util.find_spec(MODULES[s]) is not None]
    missing = sorted(set(STACKS) - set(stacks))
    if REFERENCE not in stacks:
        raise SystemExit(f"the reference {REFERENCE} is not importable; see the module docstring")
    rounds: dict[str, list[Round]] = {stack: [] for stack in stacks}
    for number in range(args.rounds):
        for stack in stacks if number % 2 == 0 else reversed(stacks):
            result = await measure(stack, connections=args.connections, requests=args.requests)
            rounds[stack].append(result)
            print(f"round {number + 1} {stack}: {result}", file=sys.stderr)
    print(f"{args.connections} connections, {args.requests} JSON GETs and {args.requests // 4} streams "
          f"per round, median of {args.rounds} rounds")  # fmt: skip
    print(_table({stack: _median(results) for stack, results in rounds.items()}))
    if missing:
        print(f"not measured (not importable): {', '.join(missing)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
