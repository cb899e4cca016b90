"""The pod lifecycle event generator: relists the runtime every second (sooner on CRI container
events where the runtime offers GetContainerEvents) and tells the pod workers which pods changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from cri import domain as d
from cri.client import CRIClient
from cri.errors import CRIError, NotFound, Unimplemented
from kubelet import labels as lbl
from kubelet.runtime_view import (
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    RuntimeSnapshot,
    runtime_container,
    runtime_sandbox,
)

log = logging.getLogger(__name__)
RELIST_TIMEOUT_S = 10.0
EVENT_RETRY_S = 5.0


class PLEG:
    def __init__(
        self, client: CRIClient, *, on_change: Callable[[str], None], relist_period_s: float = 1.0
    ) -> None:
        self.client = client
        self.on_change = on_change
        self.relist_period_s = relist_period_s
        self.snapshot = RuntimeSnapshot()
        self.events_supported: bool | None = None
        self.relisted = asyncio.Event()
        self._wake = asyncio.Event()
        self._containers: dict[str, RuntimeContainer] = {}
        self._sandboxes: dict[str, RuntimeSandbox] = {}
        self._lock = asyncio.Lock()
        self._started = 0

    async def relist(self) -> RuntimeSnapshot:
        """A snapshot taken after this call began; concurrent callers share one relist."""
        requested_after = self._started
        async with self._lock:
            if self._started > requested_after:
                return self.snapshot  # a relist that began after this call has just completed
            self._started += 1
            changed = await self._relist_locked()
        for uid in changed:
            self.on_change(uid)
        self.relisted.set()
        return self.snapshot

    async def _relist_locked(self) -> set[str]:
        sandboxes = await self.client.list_pod_sandbox(timeout=RELIST_TIMEOUT_S)
        containers = await self.client.list_containers(timeout=RELIST_TIMEOUT_S)
        sandbox_uid = {s.id: s.labels.get(lbl.POD_UID, "") for s in sandboxes}
        ours = [s for s in sandboxes if sandbox_uid[s.id]]
        our_containers = [c for c in containers if c.labels.get(lbl.POD_UID, "")]
        sandbox_views = await asyncio.gather(*(self._sandbox(s) for s in ours))
        container_views = await asyncio.gather(*(self._container(c) for c in our_containers))
        pod_sandboxes: dict[str, list[RuntimeSandbox]] = {}
        pod_containers: dict[str, list[RuntimeContainer]] = {}
        fresh_sandboxes = {}
        for sandbox, view in zip(ours, sandbox_views, strict=True):
            if view is not None:
                fresh_sandboxes[sandbox.id] = view
                pod_sandboxes.setdefault(sandbox_uid[sandbox.id], []).append(view)
        fresh_containers = {}
        for container, container_view in zip(our_containers, container_views, strict=True):
            if container_view is not None:
                fresh_containers[container.id] = container_view
                pod_containers.setdefault(container.labels[lbl.POD_UID], []).append(container_view)
        changed = self._changed_uids(fresh_sandboxes, fresh_containers, sandbox_uid)
        self._sandboxes, self._containers = fresh_sandboxes, fresh_containers
        uids = pod_sandboxes.keys() | pod_containers.keys()
        self.snapshot = RuntimeSnapshot(
            pods={uid: _pod(uid, pod_sandboxes.get(uid, []), pod_containers.get(uid, [])) for uid in uids}
        )
        return changed

    def _changed_uids(
        self,
        sandboxes: dict[str, RuntimeSandbox],
        containers: dict[str, RuntimeContainer],
        sandbox_uid: dict[str, str],
    ) -> set[str]:
        changed: set[str] = set()
        for key in self._sandboxes.keys() | sandboxes.keys():
            if self._sandboxes.get(key) != sandboxes.get(key):
                changed.add(sandbox_uid.get(key) or self._uid_of_old_sandbox(key))
        for key in self._containers.keys() | containers.keys():
            old, new = self._containers.get(key), containers.get(key)
            if old != new:
                changed.add(self._uid(new or old))
        changed.discard("")
        return changed

    def _uid_of_old_sandbox(self, sandbox_id: str) -> str:
        for uid, pod in self.snapshot.pods.items():
            if any(s.id == sandbox_id for s in pod.sandboxes):
                return uid
        return ""

    @staticmethod
    def _uid(container: RuntimeContainer | None) -> str:
        return container.pod_uid if container else ""

    async def _sandbox(self, sandbox: d.PodSandbox) -> RuntimeSandbox | None:
        known = self._sandboxes.get(sandbox.id)
        ready = sandbox.state == d.PodSandboxState.SANDBOX_READY
        if known is not None and known.ready == ready:
            return known
        try:
            result = await self.client.pod_sandbox_status(sandbox.id, timeout=RELIST_TIMEOUT_S)
        except NotFound:
            return None
        return runtime_sandbox(result.status) if result.status else None

    async def _container(self, container: d.Container) -> RuntimeContainer | None:
        known = self._containers.get(container.id)
        if known is not None and known.state == container.state:
            return known
        try:
            result = await self.client.container_status(container.id, timeout=RELIST_TIMEOUT_S)
        except NotFound:
            return None
        if result.status is None:
            return None
        return runtime_container(result.status, container.pod_sandbox_id)

    async def run(self) -> None:
        events = asyncio.create_task(self._watch_events())
        try:
            while True:
                try:
                    await self.relist()
                except CRIError as exc:
                    log.warning("relist failed: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.relist_period_s)
                self._wake.clear()
        finally:
            events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await events

    async def _watch_events(self) -> None:
        while True:
            try:
                async for _ in self.client.container_events():
                    self.events_supported = True
                    self._wake.set()
            except Unimplemented:
                self.events_supported = False
                return
            except CRIError as exc:
                log.debug("container events stream ended: %s", exc)
            await asyncio.sleep(EVENT_RETRY_S)


def _pod(uid: str, sandboxes: list[RuntimeSandbox], containers: list[RuntimeContainer]) -> RuntimePod:
    return RuntimePod(
        uid=uid,
        sandboxes=tuple(sorted(sandboxes, key=lambda s: (s.attempt, s.created_at), reverse=True)),
        containers=tuple(sorted(containers, key=lambda c: (c.restart_count, c.created_at), reverse=True)),
    )
