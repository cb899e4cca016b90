"""`tinykube shim --backend fake`: the fake runtime and image backends as a daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shims.backends import Backends
from shims.fake.faults import Faults
from shims.fake.images import FakeImages
from shims.fake.runtime import FakeRuntime


@asynccontextmanager
async def open_backends(config: Path | None) -> AsyncIterator[Backends]:
    faults = Faults()
    images = FakeImages(faults)
    yield Backends(runtime=FakeRuntime(images, faults), images=images)
