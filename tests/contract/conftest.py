"""The contract suite runs against every RuntimeBackend through the real gRPC edge.

Each entry of ``BACKENDS`` opens a CRI endpoint for one backend and yields a connected client. The fake
runs in-process in the default (unit) run; real shims add an entry marked ``integration``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from shims.fake import FakeImages, FakeRuntime
from tinykube.testbeds.runc_shim import runc_endpoint

OpenEndpoint = Callable[[Path], AbstractAsyncContextManager[CRIClient]]


@asynccontextmanager
async def fake_endpoint(tmp_path: Path) -> AsyncIterator[CRIClient]:
    images = FakeImages()
    server = CRIServer(
        FakeRuntime(images, images.faults), images, ServerOptions(socket=tmp_path / "fake.sock")
    )
    await server.start()
    client = await CRIClient.connect(f"unix://{tmp_path / 'fake.sock'}", timeout=30)
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


BACKENDS: dict[str, tuple[OpenEndpoint, tuple[pytest.MarkDecorator, ...]]] = {
    "fake": (fake_endpoint, ()),
    "runc": (runc_endpoint, (pytest.mark.integration,)),
}


@pytest.fixture(params=[pytest.param(name, marks=marks) for name, (_, marks) in BACKENDS.items()])
async def cri(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CRIClient]:
    open_endpoint, _ = BACKENDS[request.param]
    async with open_endpoint(tmp_path) as client:
        yield client
