"""The pod lifecycle event generator: relists the runtime every second and tells the pod workers
which pods changed. Where the runtime offers GetContainerEvents, each event carries its pod's
sandbox and container statuses: the view of that pod is updated from the event at once, no RPC.

An event committed after a relist began may be missing from that relist's lists: the relist keeps
the event's view of such a pod (events and relist start times are both wall-clock nanoseconds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
        self._event_ns: dict[str, int] = {}

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
        started_ns = time.time_ns()
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
        uids = pod_sandboxes.keys() | pod_containers.keys()
        pods = {uid: _pod(uid, pod_sandboxes.get(uid, []), pod_containers.get(uid, [])) for uid in uids}
        for uid in [uid for uid, at in self._event_ns.items() if at >= started_ns]:
            self._keep_event_view(uid, pods, fresh_sandboxes, fresh_containers)
        self._event_ns = {uid: at for uid, at in self._event_ns.items() if at >= started_ns}
        changed = self._changed_uids(fresh_sandboxes, fresh_containers, sandbox_uid)
        self._sandboxes, self._containers = fresh_sandboxes, fresh_containers
        self.snapshot = RuntimeSnapshot(pods=pods)
        return changed

    def _keep_event_view(
        self,
        uid: str,
        pods: dict[str, RuntimePod],
        sandboxes: dict[str, RuntimeSandbox],
        containers: dict[str, RuntimeContainer],
    ) -> None:
        """Replaces the relist's view of pod ``uid`` with the newer one an event gave."""
        for sandbox in pods[uid].sandboxes if uid in pods else ():
            sandboxes.pop(sandbox.id, None)
        for container in pods[uid].containers if uid in pods else ():
            containers.pop(container.id, None)
        pods.pop(uid, None)
        current = self.snapshot.pods.get(uid)
        if current is None:
            return
        pods[uid] = current
        sandboxes.update((s.id, s) for s in current.sandboxes)
        containers.update((c.id, c) for c in current.containers)

    def _apply_event(self, event: d.ContainerEvent) -> None:
        status = event.pod_sandbox_status
        if status is None:
            self._wake.set()  # the sandbox is gone: a relist tells which pod changed
            return
        uid = status.labels.get(lbl.POD_UID, "")
        if not uid:
            return
        sandbox = runtime_sandbox(status)
        containers = [
            runtime_container(c, status.id) for c in event.containers_statuses if c.labels.get(lbl.POD_UID)
        ]
        before = self.snapshot.pod(uid)
        pod = _pod(
            uid,
            [s for s in before.sandboxes if s.id != status.id] + [sandbox],
            [c for c in before.containers if c.sandbox_id != status.id] + containers,
        )
        self._event_ns[uid] = max(self._event_ns.get(uid, 0), event.created_at)
        self._sandboxes[sandbox.id] = sandbox
        for old in before.containers:
            if old.sandbox_id == status.id:
                self._containers.pop(old.id, None)
        self._containers.update((c.id, c) for c in containers)
        self.snapshot = RuntimeSnapshot(pods={**self.snapshot.pods, uid: pod})
        if pod != before:
            self.on_change(uid)

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
                async for event in self.client.container_events():
                    self.events_supported = True
                    self._apply_event(event)
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
