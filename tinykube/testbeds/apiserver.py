"""``running_apiserver(tmp_path)``: an apiserver on a free 127.0.0.1 port over an in-memory (or
given) store, yielding its URL, kubeconfig path and CA, for client tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from api.server.server import ApiServer, ServerConfig
from api.server.storage import open_store
from api.server.tls import Pki
from api.storage import Store


@dataclass(frozen=True)
class RunningApiServer:
    url: str
    kubeconfig: Path
    pki: Pki
    store: Store


@contextlib.asynccontextmanager
async def running_apiserver(
    tmp_path: Path, *, storage: str = "memory", token_file: Path | None = None,
    compaction_interval: float = 300.0,
) -> AsyncIterator[RunningApiServer]:
    data_dir = tmp_path / "apiserver"
    kubeconfig = tmp_path / "kubeconfig"
    config = ServerConfig(data_dir=data_dir, port=0, kubeconfig=kubeconfig, token_file=token_file,
                          compaction_interval=compaction_interval)
    stop = asyncio.Event()
    async with open_store(storage, data_dir, compaction_interval=compaction_interval) as store:
        server = ApiServer(config, store)
        task = asyncio.create_task(server.run(stop))
        started = asyncio.create_task(server.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            started.cancel()
            task.result()
        try:
            yield RunningApiServer(server.url, kubeconfig, server.pki, store)
        finally:
            stop.set()
            await task


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ApiServerProcess:
    url: str
    pki: Pki
    kubeconfig: Path
    process: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def apiserver_process(data_dir: Path, *, port: int = 0, storage: str = "sqlite:",
                            start_timeout: float = 60.0) -> AsyncIterator[ApiServerProcess]:
    """`tinykube apiserver` as its own process (as users run it); killed on exit if still running."""
    port = port or free_port()
    kubeconfig = data_dir / "admin.kubeconfig"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "apiserver", "--data-dir", str(data_dir), "--storage", storage,
        "--listen", f"127.0.0.1:{port}", "--write-kubeconfig", str(kubeconfig), "--log-level", "warning",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), start_timeout)
        if b"serving on" not in line:
            raise RuntimeError(f"the apiserver did not start: {line!r}")
        yield ApiServerProcess(f"https://127.0.0.1:{port}", Pki(data_dir / "pki"), kubeconfig, process)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
