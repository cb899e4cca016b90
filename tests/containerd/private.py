"""A containerd of the test's own (own root, state and sockets under the test's directory, no CRI
plugin), which a test may stop and start again without disturbing the machine's containerd."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from shims.containerd.client.connection import connect
from shims.containerd.client.events import until_answering

READY_BOUND_S = 30.0
STOP_BOUND_S = 30.0


@dataclass
class PrivateContainerd:
    directory: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> Path:
        return self.directory / "c.sock"

    def write_config(self) -> Path:
        config = self.directory / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{self.directory / "root"}"\n'
            f'state = "{self.directory / "state"}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{self.address}"\n'
            f'[ttrpc]\n  address = "{self.directory / "c.sock.ttrpc"}"\n'
        )
        return config

    async def start(self) -> None:
        log = (self.directory / "containerd.log").open("ab")
        with log:
            self.process = await asyncio.create_subprocess_exec(
                "containerd", "--config", str(self.write_config()), stdout=log, stderr=log
            )
        async with (
            asyncio.timeout(READY_BOUND_S),
            connect(str(self.address), namespace="default", connect_timeout=READY_BOUND_S) as connection,
        ):
            await until_answering(connection)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            async with asyncio.timeout(STOP_BOUND_S):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def private_containerd(directory: Path) -> AsyncIterator[PrivateContainerd]:
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    daemon = PrivateContainerd(directory)
    try:
        await daemon.start()
        yield daemon
    finally:
        await daemon.stop()
