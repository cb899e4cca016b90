"""`tinykube shim --backend runc`: the runc runtime, recovered from disk, with its image backend."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shims.backends import Backends
from shims.runc.config import load_config
from shims.runc.images import LocalImages
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime


@asynccontextmanager
async def open_backends(config_path: Path | None) -> AsyncIterator[Backends]:
    config = load_config(config_path)
    logging.getLogger("shims.runc").setLevel(config.log_level.upper())
    images = LocalImages(config.local_images)
    runtime = RuncRuntime(config, images)
    await recover(runtime)
    try:
        yield Backends(runtime=runtime, images=images)
    finally:
        await runtime.close()
