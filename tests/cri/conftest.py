"""A fake runtime served over a real gRPC unix socket, and a client connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from shims.fake import FakeImages, FakeRuntime


@dataclass
class Served:
    runtime: FakeRuntime
    images: FakeImages
    server: CRIServer
    client: CRIClient
    socket: Path


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    images = FakeImages()
    runtime = FakeRuntime(images, images.faults)
    socket = tmp_path / "run" / "cri.sock"
    server = CRIServer(runtime, images, ServerOptions(socket=socket, metrics_address="127.0.0.1:0"))
    await server.start()
    client = await CRIClient.connect(f"unix://{socket}", timeout=10)
    try:
        yield Served(runtime, images, server, client, socket)
    finally:
        await client.close()
        await server.stop()
