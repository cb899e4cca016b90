"""`tinykube shim --backend containerd`: the ImageService over containerd's stores and the
RuntimeService over its containers and tasks, in one containerd namespace of our own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from shims.backends import Backends
from shims.containerd.client import open_client
from shims.containerd.config import ContainerdShimConfig, load_config
from shims.containerd.images import ContainerdImages, ImagesConfig
from shims.containerd.recovery import recover
from shims.containerd.runtime import ContainerdRuntime

SUBSCRIBE_TIMEOUT_S = 30.0


def open_backends(config_path: Path | None) -> AbstractAsyncContextManager[Backends]:
    """Reads the configuration at once (a mistake in the file is named first); opens on entry."""
    return _open_backends(load_config(config_path))


@asynccontextmanager
async def _open_backends(config: ContainerdShimConfig) -> AsyncIterator[Backends]:
    logging.getLogger("shims.containerd").setLevel(config.log_level.upper())
    config.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    address = str(config.containerd_address)
    async with open_client(address, namespace=config.namespace, snapshotter=config.snapshotter) as client:
        images_config = ImagesConfig(
            certs_d=config.registry_certs_dir,
            pinned_images=(config.sandbox_image,),
            snapshotter_root=config.snapshotter_root,
        )
        async with ContainerdImages.open(client, images_config) as images:
            runtime = ContainerdRuntime(config, client, images)
            await recover(runtime)
            supervised = asyncio.create_task(runtime.run())
            try:
                # exits are followed before the first request is served
                await asyncio.wait_for(runtime.subscribed.wait(), SUBSCRIBE_TIMEOUT_S)
                yield Backends(runtime=runtime, images=images)
            finally:
                supervised.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervised
