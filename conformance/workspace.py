"""What one check creates, tracked so it is removed again whatever happens to the check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from conformance import images, pod
from cri import domain as d
from cri.client import CRIClient
from cri.errors import CRIError, DeadlineExceeded, NotFound, Unavailable, Unknown

T = TypeVar("T")
STATE = d.ContainerState
WAIT_SECONDS = 30.0


class WaitTimeout(AssertionError):
    """A condition a check waited for did not come true in time."""


async def wait_for(
    what: str, probe: Callable[[], Awaitable[T | None]], *, timeout: float = WAIT_SECONDS
) -> T:
    """Poll ``probe`` until it returns a value (not None), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


@dataclass(frozen=True, slots=True)
class Pod:
    id: str
    config: d.PodSandboxConfig


@dataclass
class Workspace:
    """A check's handle on the runtime: creates labelled objects and removes them in ``cleanup``."""

    cri: CRIClient
    run_id: str
    sandboxes: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    pulled: list[str] = field(default_factory=list)

    def sandbox_config(self, **kwargs: Any) -> d.PodSandboxConfig:
        return pod.sandbox_config(run_id=self.run_id, **kwargs)

    def container_config(self, **kwargs: Any) -> d.ContainerConfig:
        return pod.container_config(run_id=self.run_id, **kwargs)

    async def run_pod(self, config: d.PodSandboxConfig | None = None, **kwargs: Any) -> Pod:
        config = config or self.sandbox_config(**kwargs)
        await self.ensure_image(images.PAUSE)
        sandbox_id = await self.cri.run_pod_sandbox(config, timeout=120)
        self.sandboxes.append(sandbox_id)
        return Pod(sandbox_id, config)

    async def ensure_image(self, reference: str) -> str:
        """The image's id, pulled first if the runtime does not have it (kept for later checks)."""
        found = await self.cri.image_status(reference)
        if found.image is not None:
            return found.image.id
        return await self.cri.pull_image(reference, timeout=120)

    async def pull(self, reference: str) -> str:
        """Pull ``reference`` and remove it again at cleanup."""
        self.pulled.append(reference)
        return await self.cri.pull_image(reference, timeout=120)

    async def create(
        self, target: Pod | None = None, config: d.ContainerConfig | None = None, **kwargs: Any
    ) -> str:
        target = target or await self.run_pod()
        config = config or self.container_config(**kwargs)
        assert config.image is not None
        await self.ensure_image(config.image.image)
        container_id = await self.cri.create_container(target.id, config, target.config)
        self.containers.append(container_id)
        return container_id

    async def start(
        self, target: Pod | None = None, config: d.ContainerConfig | None = None, **kwargs: Any
    ) -> str:
        container_id = await self.create(target, config, **kwargs)
        await self.cri.start_container(container_id)
        return container_id

    async def status(self, container_id: str) -> d.ContainerStatus:
        result = await self.cri.container_status(container_id)
        assert result.status is not None, "ContainerStatus answered without a status"
        return result.status

    async def sandbox_status(self, sandbox_id: str) -> d.PodSandboxStatus:
        result = await self.cri.pod_sandbox_status(sandbox_id)
        assert result.status is not None, "PodSandboxStatus answered without a status"
        return result.status

    async def wait_exited(self, container_id: str, *, timeout: float = WAIT_SECONDS) -> d.ContainerStatus:
        async def exited() -> d.ContainerStatus | None:
            status = await self.status(container_id)
            return status if status.state == STATE.CONTAINER_EXITED else None

        return await wait_for(f"container {container_id[:13]} to exit", exited, timeout=timeout)

    async def run_to_exit(self, target: Pod | None = None, **kwargs: Any) -> d.ContainerStatus:
        return await self.wait_exited(await self.start(target, **kwargs))

    async def log_text(self, container_id: str, *, until: str, timeout: float = WAIT_SECONDS) -> str:
        """The container's log file once it contains ``until``."""
        path = Path((await self.status(container_id)).log_path)

        async def contains() -> str | None:
            text = await asyncio.to_thread(_read, path)
            return text if until in text else None

        return await wait_for(f"{until!r} in {path}", contains, timeout=timeout)

    async def cleanup(self) -> list[str]:
        """Remove everything this check made; returns the problems met (never raises)."""
        problems: list[str] = []
        for container_id in reversed(self.containers):
            await _quietly(problems, partial(self.cri.stop_container, container_id, grace_seconds=0))
            await _quietly(problems, partial(self.cri.remove_container, container_id))
        for sandbox_id in reversed(self.sandboxes):
            await _quietly(problems, partial(self.cri.stop_pod_sandbox, sandbox_id, timeout=60))
            await _quietly(problems, partial(self.cri.remove_pod_sandbox, sandbox_id, timeout=60))
        for reference in self.pulled:
            await _quietly(problems, partial(self.cri.remove_image, reference))
        return problems


CLEANUP_ATTEMPTS = 3


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


async def _quietly(problems: list[str], call: Callable[[], Awaitable[None]]) -> None:
    """Run one removal; an object already gone (NOT_FOUND, containerd 1.6's Stop of one) is no problem.
    A transient failure (containerd's shim connection closing under load) is retried, as a kubelet
    retries; what still fails after the last attempt is a problem."""
    for attempt in range(1, CLEANUP_ATTEMPTS + 1):
        try:
            await call()
            return
        except NotFound:
            return
        except (Unknown, Unavailable, DeadlineExceeded) as exc:
            if attempt == CLEANUP_ATTEMPTS:
                problems.append(f"{type(exc).__name__}: {exc.message} (after {attempt} attempts)")
        except CRIError as exc:
            problems.append(f"{type(exc).__name__}: {exc.message}")
            return


@dataclass(frozen=True, kw_only=True, slots=True)
class SweepResult:
    leftovers: int
    problems: tuple[str, ...]


async def sweep(cri: CRIClient, run_id: str) -> SweepResult:
    """Remove every container and sandbox labelled with ``run_id`` (what interrupted checks left)."""
    selector = {pod.RUN_LABEL: run_id}
    problems: list[str] = []
    containers = await cri.list_containers(d.ContainerFilter(label_selector=selector))
    for container in containers:
        await _quietly(problems, partial(cri.remove_container, container.id))
    sandboxes = await cri.list_pod_sandbox(d.PodSandboxFilter(label_selector=selector))
    for sandbox in sandboxes:
        await _quietly(problems, partial(cri.stop_pod_sandbox, sandbox.id, timeout=60))
        await _quietly(problems, partial(cri.remove_pod_sandbox, sandbox.id, timeout=60))
    return SweepResult(leftovers=len(containers) + len(sandboxes), problems=tuple(problems))
