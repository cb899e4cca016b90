"""`tinykube shim --backend runc`: the runc runtime, recovered from disk, with its image backend."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from cri.streaming.server import StreamingServer
from shims.backends import Backends
from shims.oci.service import ImageStoreConfig, OciImages
from shims.runc.config import RuncShimConfig, load_config
from shims.runc.images import LocalImages
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime
from shims.runc.streaming import RuncStreaming


@asynccontextmanager
async def open_images(config: RuncShimConfig) -> AsyncIterator[LocalImages | OciImages]:
    """The OCI image store, or the configured local rootfs directories in its place."""
    if config.local_images:
        yield LocalImages(config.local_images)
        return
    store = ImageStoreConfig(
        root=config.image_root, certs_d=config.registry_certs_dir, pinned_images=(config.sandbox_image,)
    )
    async with OciImages.open(store) as images:
        yield images


def open_backends(config_path: Path | None) -> AbstractAsyncContextManager[Backends]:
    """Reads the configuration at once (a ``ConfigError`` is the caller's to report); opens on entry."""
    return _open_backends(load_config(config_path))


@asynccontextmanager
async def _open_backends(config: RuncShimConfig) -> AsyncIterator[Backends]:
    logging.getLogger("shims.runc").setLevel(config.log_level.upper())
    async with open_images(config) as images:
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
