"""100 MB through exec stdout: throughput and the streaming server's peak RSS.

The server runs in a child process (exec = a host process, ``head -c N /dev/zero``); this process
is the client and discards what it reads. Printed per transport (SPDY/3.1, WebSocket v5): wall
time, MB/s, the server's peak RSS and its growth over the idle server. A third run reads slower than the
process writes, so back-pressure (not buffering) must hold the server's memory. The reference,
measured in the same run, is the same bytes read straight from the process's pipe.

    .venv/bin/python bench/streaming/exec_stdout.py [--megabytes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable
from urllib.parse import urlsplit

import aiohttp

from cri.streaming.backend import PortConnection, StreamingProcess, TerminalSize
from cri.streaming.process import start_process
from cri.streaming.server import StreamingServer
from cri.streaming.spdy.frames import DataFrame, SynStream
from cri.streaming.spdy.parser import FrameParser, FrameWriter
from cri.streaming.types import AttachSpec, ExecSpec

MB = 1024 * 1024


class HostExec:
    async def start_exec(self, spec: ExecSpec, *, terminal_size: TerminalSize | None) -> StreamingProcess:
        return await start_process(spec.cmd, tty=spec.tty, stdin=spec.stdin, terminal_size=terminal_size)

    async def attach(self, spec: AttachSpec) -> StreamingProcess:
        raise NotImplementedError

    async def dial_port(self, pod_sandbox_id: str, port: int) -> PortConnection:
        raise NotImplementedError


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def serve(megabytes: int) -> None:
    """Child: print the URLs, serve until stdin closes, print the peak RSS."""
    server = StreamingServer(HostExec())
    await server.start()
    spec = ExecSpec(
        container_id="bench",
        cmd=("head", "-c", f"{megabytes}M", "/dev/zero"),
        tty=False,
        stdin=False,
        stdout=True,
        stderr=False,
    )
    print(
        json.dumps({"idle_rss_mb": peak_rss_mb(), "urls": [server.exec_url(spec) for _ in range(3)]}),
        flush=True,
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)


async def read_spdy(url: str, *, pause_s: float = 0.0) -> int:
    """``pause_s`` after each 64 KiB read makes a client slower than the process writes."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 0\r\nConnection: Upgrade\r\n"
        "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n".encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    frames = FrameWriter()
    writer.write(frames.encode(SynStream(stream_id=1, headers=(("streamtype", "error"),))))
    writer.write(frames.encode(SynStream(stream_id=3, headers=(("streamtype", "stdout"),))))
    parser, received = FrameParser(max_frame_size=MB), 0
    while data := await reader.read(64 * 1024 if pause_s else 256 * 1024):
        if pause_s:
            await asyncio.sleep(pause_s)
        for frame in parser.feed(data):
            if isinstance(frame, DataFrame) and frame.stream_id == 3:
                received += len(frame.data)
    writer.close()
    return received


async def read_websocket(url: str) -> int:
    received = 0
    async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY and message.data[:1] == b"\x01":
                received += len(message.data) - 1
    return received


async def read_pipe_reference(megabytes: int) -> int:
    process = await asyncio.create_subprocess_exec(
        "head", "-c", f"{megabytes}M", "/dev/zero", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    received = 0
    while data := await process.stdout.read(256 * 1024):
        received += len(data)
    await process.wait()
    return received


async def timed(label: str, reading: Awaitable[int], expected: int) -> float:
    started = time.perf_counter()
    received = await reading
    elapsed = time.perf_counter() - started
    assert received == expected, f"{label}: received {received} bytes, expected {expected}"
    print(f"{label:<34} {elapsed:7.2f} s  {expected / MB / elapsed:8.1f} MB/s")
    return elapsed


async def main(megabytes: int) -> None:
    expected = megabytes * MB
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--megabytes",
        str(megabytes),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdin is not None
    started = json.loads(await child.stdout.readline())
    spdy_url, ws_url, slow_url = started["urls"]
    print(f"{megabytes} MB through exec stdout")
    references = [
        await timed("reference: pipe, no server", read_pipe_reference(megabytes), expected) for _ in range(3)
    ]
    reference = sorted(references)[1]
    spdy = await timed("SPDY/3.1 v4.channel.k8s.io", read_spdy(spdy_url), expected)
    ws = await timed(
        "WebSocket v5.channel.k8s.io", read_websocket("ws" + ws_url.removeprefix("http")), expected
    )
    await timed("SPDY/3.1, client reading 64 KiB/ms", read_spdy(slow_url, pause_s=0.001), expected)
    child.stdin.close()
    finished = json.loads(await child.stdout.readline())
    await child.wait()
    print(
        f"time ratio to the median reference: SPDY {spdy / reference:.1f}x, WebSocket {ws / reference:.1f}x"
    )
    print(
        f"server RSS: idle {started['idle_rss_mb']:.1f} MB, peak {finished['peak_rss_mb']:.1f} MB "
        f"(+{finished['peak_rss_mb'] - started['idle_rss_mb']:.1f} MB for {3 * megabytes} MB streamed)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(args.megabytes) if args.serve else main(args.megabytes))
