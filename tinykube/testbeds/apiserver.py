"""``running_apiserver(tmp_path)``: an apiserver on a free 127.0.0.1 port over an in-memory (or
given) store, yielding its URL, kubeconfig path and CA, for client tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from api.server.server import ApiServer, ServerConfig
from api.server.storage import open_store
from api.server.tls import Pki


@dataclass(frozen=True)
class RunningApiServer:
    url: str
    kubeconfig: Path
    pki: Pki


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
            yield RunningApiServer(server.url, kubeconfig, server.pki)
        finally:
            stop.set()
            await task
