"""Container logs on the node: the ``/var/log/containers`` symlinks and size-based rotation
through ReopenContainerLog, older files gzipped; a runtime that cannot reopen keeps its log intact."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from api.core.v1.pods import pod_name, pod_namespace
from api.model.core_v1 import Pod
from cri.client import CRIClient
from cri.errors import CRIError, Unimplemented
from kubelet.runtime_view import RuntimePod

log = logging.getLogger(__name__)
ROTATE_PERIOD_S = 10.0


def symlink_name(pod: Pod, container_name: str, container_id: str) -> str:
    return f"{pod_name(pod)}_{pod_namespace(pod)}_{container_name}-{container_id}.log"


class LogManager:
    def __init__(self, client: CRIClient, *, containers_dir: Path, max_bytes: int, max_files: int) -> None:
        self.client = client
        self.containers_dir = containers_dir
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.cannot_reopen: set[str] = set()

    async def link(self, pod: Pod, runtime: RuntimePod) -> None:
        await asyncio.to_thread(self._link, pod, runtime)

    def _link(self, pod: Pod, runtime: RuntimePod) -> None:
        with contextlib.suppress(OSError):
            self.containers_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        for container in runtime.containers:
            if not container.log_path:
                continue
            link = self.containers_dir / symlink_name(pod, container.name, container.id)
            if not link.is_symlink():
                with contextlib.suppress(OSError):
                    link.symlink_to(container.log_path)

    async def unlink(self, runtime: RuntimePod) -> None:
        def remove() -> None:
            suffixes = {f"-{c.id}.log" for c in runtime.containers}
            if not self.containers_dir.is_dir():
                return
            for entry in self.containers_dir.iterdir():
                if any(entry.name.endswith(s) for s in suffixes):
                    entry.unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    async def run(self, targets: Callable[[], list[tuple[str, str]]]) -> None:
        while True:
            for container_id, path in targets():
                try:
                    await self.rotate_if_needed(container_id, path)
                except OSError as exc:
                    log.warning("rotating %s: %s", path, exc)
            await asyncio.sleep(ROTATE_PERIOD_S)

    async def rotate_if_needed(self, container_id: str, path: str) -> bool:
        """Rotates ``path`` once it reached containerLogMaxSize; returns whether it did."""
        if container_id in self.cannot_reopen:
            return False
        try:
            size = (await asyncio.to_thread(os.stat, path)).st_size
        except FileNotFoundError:
            return False
        if size < self.max_bytes:
            return False
        rotated = f"{path}.{datetime.now(UTC).strftime('%Y%m%d-%H%M%S.%f')}"
        await asyncio.to_thread(os.rename, path, rotated)
        try:
            await self.client.reopen_container_log(container_id, timeout=10)
        except (Unimplemented, CRIError) as exc:
            log.warning("runtime cannot reopen the log of %s (%s): leaving it unrotated", container_id, exc)
            await asyncio.to_thread(os.rename, rotated, path)
            self.cannot_reopen.add(container_id)
            return False
        await asyncio.to_thread(self._compress_and_prune, path)
        return True

    def _compress_and_prune(self, path: str) -> None:
        directory, base = os.path.split(path)
        rotated = sorted(
            name
            for name in os.listdir(directory)
            if name.startswith(base + ".") and not name.endswith(".tmp")
        )
        for name in rotated[:-1]:
            if name.endswith(".gz"):
                continue
            source = os.path.join(directory, name)
            with open(source, "rb") as plain, gzip.open(source + ".gz.tmp", "wb") as packed:
                shutil.copyfileobj(plain, packed)
            os.replace(source + ".gz.tmp", source + ".gz")
            os.unlink(source)
        kept = sorted(name for name in os.listdir(directory) if name.startswith(base + "."))
        for name in kept[: max(0, len(kept) - (self.max_files - 1))]:
            os.unlink(os.path.join(directory, name))
