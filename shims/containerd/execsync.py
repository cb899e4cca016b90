"""ExecSync as a task exec: the command's output from its FIFOs, its exit status from Wait.

A timeout kills the command and answers DEADLINE_EXCEEDED. The answer comes when the command exits:
output still arriving then is read for a bounded moment, so a child the command left in the
background holding its output open cannot hold the answer. Each stream keeps its first 16 MiB
(containerd's cap).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cri import domain as d
from cri.errors import DeadlineExceeded, NotFound
from shims.containerd.client import Client
from shims.containerd.stdio import FifoReader, make_fifos
from shims.node.ocispec import exec_process

OUTPUT_CAP = 16 * 1024 * 1024
DRAIN_AFTER_EXIT_S = 1.0
KILL_WAIT_S = 10.0


async def exec_sync(
    client: Client,
    container_id: str,
    spec: Mapping[str, Any],
    cmd: tuple[str, ...],
    *,
    timeout: int,
    fifo_dir: Path,
) -> d.ExecSyncResult:
    """Run ``cmd`` in the running container as its own process runs (``spec``: its OCI spec)."""
    exec_id = f"exec-{secrets.token_hex(8)}"
    fifos = make_fifos(fifo_dir, exec_id, stdin=False, terminal=False)
    assert fifos.stderr is not None
    readers = FifoReader(fifos.stdout), FifoReader(fifos.stderr)
    try:
        await client.tasks.exec(container_id, exec_id, exec_process(cmd, spec), fifos.stdio())
        exited = asyncio.ensure_future(client.tasks.wait(container_id, exec_id))
        kept: tuple[list[bytes], list[bytes]] = ([], [])
        outputs: list[asyncio.Task[None]] = []
        try:
            await client.tasks.start(container_id, exec_id)  # the exec's FIFOs have their writer now
            outputs = [
                asyncio.ensure_future(_capped(reader, into))
                for reader, into in zip(readers, kept, strict=True)
            ]
            code = await _exit_within(client, container_id, exec_id, exited, timeout, cmd)
            await asyncio.wait(outputs, timeout=DRAIN_AFTER_EXIT_S)
            stdout, stderr = (b"".join(chunks) for chunks in kept)
        finally:
            for task in (exited, *outputs):
                task.cancel()
        return d.ExecSyncResult(stdout=stdout, stderr=stderr, exit_code=code)
    finally:
        for reader in readers:
            reader.close()
        with contextlib.suppress(NotFound):
            await client.tasks.delete_process(container_id, exec_id)
        fifos.remove()


async def _exit_within(
    client: Client,
    container_id: str,
    exec_id: str,
    exited: asyncio.Future[Any],
    timeout: int,
    cmd: tuple[str, ...],
) -> int:
    try:
        async with asyncio.timeout(timeout or None):
            status: int = (await asyncio.shield(exited)).exit_status
            return status
    except TimeoutError:
        with contextlib.suppress(NotFound):
            await client.tasks.kill(container_id, signal.SIGKILL, exec_id=exec_id)
        await asyncio.wait([exited], timeout=KILL_WAIT_S)
        raise DeadlineExceeded(f"command {list(cmd)} timed out after {timeout}s") from None


async def _capped(reader: FifoReader, kept: list[bytes]) -> None:
    """The stream's first OUTPUT_CAP bytes into ``kept`` as they come; the rest is read and dropped."""
    size = 0
    async for chunk in reader.chunks():
        if size < OUTPUT_CAP:
            kept.append(chunk[: OUTPUT_CAP - size])
            size += len(kept[-1])
