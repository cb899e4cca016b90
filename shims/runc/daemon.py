"""`tinykube shim --backend runc`: the runc runtime, recovered from disk, with its image backend."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cri.streaming.server import StreamingServer
from shims.backends import Backends
from shims.runc.config import load_config
from shims.runc.images import LocalImages
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime
from shims.runc.streaming import RuncStreaming


@asynccontextmanager
async def open_backends(config_path: Path | None) -> AsyncIterator[Backends]:
    config = load_config(config_path)
    logging.getLogger("shims.runc").setLevel(config.log_level.upper())
    images = LocalImages(config.local_images)
    runtime = RuncRuntime(config, images)
    await recover(runtime)
    host, _, port = config.streaming_address.rpartition(":")
    streaming = StreamingServer(RuncStreaming(runtime), host=host.strip("[]"), port=int(port))
    await streaming.start()
    runtime.streaming_server = streaming
    try:
        yield Backends(runtime=runtime, images=images)
    finally:
        await streaming.stop()
        await runtime.close()
