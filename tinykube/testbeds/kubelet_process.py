"""`tinykube kubelet` as a separate process (so it can be killed with SIGKILL), read over /pods."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CONTAINERD = "unix:///run/containerd/containerd.sock"
STOP_S = 30.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float) -> None:
    """Re-checks a condition on a process we can only poll (HTTP, CRI), bounded by ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def write_config(directory: Path, *, endpoint: str = CONTAINERD, node_name: str = "node1") -> Path:
    manifests = directory / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    config = directory / "kubelet.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        f"staticPodPath: {manifests}\nrootDir: {directory / 'root'}\npodLogsDir: {directory / 'pods'}\n"
        f"containerLogsDir: {directory / 'containers'}\ncontainerRuntimeEndpoint: {endpoint}\n"
        f"fileCheckFrequency: 200ms\nnodeName: {node_name}\nport: {free_port()}\n"
    )
    return config


@dataclass
class KubeletProcess:
    config: Path
    log: Path
    process: asyncio.subprocess.Process | None = None
    port: int = field(default=0)
    args: tuple[str, ...] = ()

    async def start(self) -> None:
        self.port = int(
            next(line.split()[1] for line in self.config.read_text().splitlines() if line.startswith("port:"))
        )
        with self.log.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tinykube.main",
                "kubelet",
                "--config",
                str(self.config),
                *self.args,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
            )
        await eventually(self._answers, "the kubelet answering /healthz", STOP_S)

    async def _answers(self) -> bool:
        try:
            await self.get("/healthz")
        except (aiohttp.ClientError, OSError):
            return False
        return True

    async def get(self, path: str) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}{path}") as response,
        ):
            text = await response.text()
            return json.loads(text) if response.content_type == "application/json" else text

    async def pods(self) -> list[dict[str, Any]]:
        body = await self.get("/pods")
        items: list[dict[str, Any]] = body["items"]
        return items

    async def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        os.kill(self.process.pid, signum)
        try:
            async with asyncio.timeout(STOP_S):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise
