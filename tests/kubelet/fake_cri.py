"""The fake runtime served over a real CRI unix socket, for tests of one kubelet part at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from shims.fake import FakeImages, FakeRuntime

WAIT_S = 20.0


@dataclass
class FakeCRI:
    runtime: FakeRuntime
    images: FakeImages
    client: CRIClient


@asynccontextmanager
async def serve_fake(tmp_path: Path) -> AsyncIterator[FakeCRI]:
    images = FakeImages()
    images.add_image("busybox:1.36")
    runtime = FakeRuntime(images, images.faults)
    socket = tmp_path / "run" / "cri.sock"
    server = CRIServer(runtime, images, ServerOptions(socket=socket, metrics_address="127.0.0.1:0"))
    await server.start()
    client = await CRIClient.connect(f"unix://{socket}", timeout=10)
    try:
        yield FakeCRI(runtime, images, client)
    finally:
        await client.close()
        await server.stop()


async def wait_until(what: str, predicate: Callable[[], object], timeout: float = WAIT_S) -> None:
    """Waits, bounded, for a condition on in-process state; fails naming what did not happen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
