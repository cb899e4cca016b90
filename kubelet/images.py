"""Image pulls by imagePullPolicy, with back-off: ErrImagePull, then ImagePullBackOff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from cri import domain as d
from cri.client import CRIClient
from cri.errors import CRIError
from kubelet.backoff import Backoff, BackoffPolicy

PULL_TIMEOUT_S = 300.0
STATUS_TIMEOUT_S = 10.0


class ImagePullError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ImagePuller:
    def __init__(
        self, client: CRIClient, *, backoff: Backoff | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.backoff = backoff or Backoff(BackoffPolicy(initial_s=10, max_s=300))
        self.clock = clock
        self._failed_at: dict[str, float] = {}
        self._checks: dict[str, asyncio.Task[str]] = {}

    async def _present(self, image: str) -> str:
        """Pods starting together share the ImageStatus call in flight for their image."""
        check = self._checks.get(image)
        if check is None:
            check = asyncio.create_task(self._image_id(image), name=f"image-status-{image}")
            self._checks[image] = check
            check.add_done_callback(lambda _: self._checks.pop(image, None))
        return await asyncio.shield(check)

    async def _image_id(self, image: str) -> str:
        result = await self.client.image_status(image, timeout=STATUS_TIMEOUT_S)
        return result.image.id if result.image else ""

    async def ensure(self, image: str, policy: str, sandbox_config: d.PodSandboxConfig) -> None:
        if policy != "Always" and await self._present(image):
            return
        if policy == "Never":
            raise ImagePullError(
                "ErrImageNeverPull", f'Container image "{image}" is not present with pull policy of Never'
            )
        now = self.clock()
        failed_at = self._failed_at.get(image)
        if failed_at is not None and self.backoff.in_backoff_since(image, failed_at, now=now):
            raise ImagePullError("ImagePullBackOff", f'Back-off pulling image "{image}"')
        try:
            await self.client.pull_image(image, sandbox_config=sandbox_config, timeout=PULL_TIMEOUT_S)
        except CRIError as exc:
            self._failed_at[image] = now
            self.backoff.next(image, now=now)
            raise ImagePullError("ErrImagePull", f'failed to pull image "{image}": {exc.message}') from exc
        self._failed_at.pop(image, None)
