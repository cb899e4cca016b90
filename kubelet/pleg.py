"""The pod lifecycle event generator: relists the runtime every second and tells the pod workers
which pods changed. Where the runtime offers GetContainerEvents, each event carries its pod's
sandbox and container statuses: that pod's view is updated from the event at once, without an RPC.
A pod worker that has just acted on its pod re-reads only that pod (``relist_pod``).

Views come from three sources that can finish out of order (a relist's lists may predate an event
that arrived while it ran). Each pod's view remembers when the information it holds was read
(wall-clock nanoseconds: a relist's start, an event's creation), and an older read never replaces
a newer one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping

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
        self._lock = asyncio.Lock()
        self._started = 0
        self._read_at: dict[str, int] = {}
        self._previous_relist_ns = 0

    async def relist(self) -> RuntimeSnapshot:
        """A snapshot taken after this call began; concurrent callers share one relist."""
        requested_after = self._started
        async with self._lock:
            if self._started > requested_after:
                return self.snapshot  # a relist that began after this call has just completed
            self._started += 1
            await self._relist_locked()
        self.relisted.set()
        return self.snapshot

    async def relist_pod(self, uid: str) -> RuntimePod:
        """Pod ``uid`` as the runtime holds it now: two filtered lists, statuses of what changed."""
        read_at = time.time_ns()
        only_pod = {lbl.POD_UID: uid}
        sandboxes = await self.client.list_pod_sandbox(
            d.PodSandboxFilter(label_selector=only_pod), timeout=RELIST_TIMEOUT_S
        )
        containers = await self.client.list_containers(
            d.ContainerFilter(label_selector=only_pod), timeout=RELIST_TIMEOUT_S
        )
        pods = await self._views(sandboxes, containers)
        self._install(pods, scope={uid}, read_at=read_at)
        return self.snapshot.pod(uid)

    async def _relist_locked(self) -> None:
        read_at = time.time_ns()
        sandboxes = await self.client.list_pod_sandbox(timeout=RELIST_TIMEOUT_S)
        containers = await self.client.list_containers(timeout=RELIST_TIMEOUT_S)
        pods = await self._views(sandboxes, containers)
        self._install(pods, scope=pods.keys() | self.snapshot.pods.keys(), read_at=read_at)
        self._read_at = {
            uid: at
            for uid, at in self._read_at.items()
            if uid in self.snapshot.pods or at >= self._previous_relist_ns
        }
        self._previous_relist_ns = read_at

    async def _views(
        self, sandboxes: list[d.PodSandbox], containers: list[d.Container]
    ) -> dict[str, RuntimePod]:
        known_sandboxes = {s.id: s for p in self.snapshot.pods.values() for s in p.sandboxes}
        known_containers = {c.id: c for p in self.snapshot.pods.values() for c in p.containers}
        ours = [s for s in sandboxes if s.labels.get(lbl.POD_UID)]
        our_containers = [c for c in containers if c.labels.get(lbl.POD_UID)]
        sandbox_views = await asyncio.gather(*(self._sandbox(s, known_sandboxes) for s in ours))
        container_views = await asyncio.gather(
            *(self._container(c, known_containers) for c in our_containers)
        )
        pod_sandboxes: dict[str, list[RuntimeSandbox]] = {}
        pod_containers: dict[str, list[RuntimeContainer]] = {}
        for sandbox, sandbox_view in zip(ours, sandbox_views, strict=True):
            if sandbox_view is not None:
                pod_sandboxes.setdefault(sandbox.labels[lbl.POD_UID], []).append(sandbox_view)
        for container, container_view in zip(our_containers, container_views, strict=True):
            if container_view is not None:
                pod_containers.setdefault(container.labels[lbl.POD_UID], []).append(container_view)
        uids = pod_sandboxes.keys() | pod_containers.keys()
        return {uid: _pod(uid, pod_sandboxes.get(uid, []), pod_containers.get(uid, [])) for uid in uids}

    def _install(self, pods: Mapping[str, RuntimePod], *, scope: Iterable[str], read_at: int) -> None:
        """Takes ``pods`` (read at ``read_at``) as the view of every pod in ``scope``, except pods
        whose current view was read later; wakes the workers of the pods that changed."""
        current = dict(self.snapshot.pods)
        changed = []
        for uid in scope:
            if self._read_at.get(uid, 0) > read_at:
                continue
            self._read_at[uid] = read_at
            fresh = pods.get(uid)
            if fresh == current.get(uid):
                continue
            changed.append(uid)
            if fresh is None:
                del current[uid]
            else:
                current[uid] = fresh
        if changed:
            self.snapshot = RuntimeSnapshot(pods=current)
        for uid in changed:
            self.on_change(uid)

    async def _sandbox(
        self, sandbox: d.PodSandbox, known: Mapping[str, RuntimeSandbox]
    ) -> RuntimeSandbox | None:
        view = known.get(sandbox.id)
        ready = sandbox.state == d.PodSandboxState.SANDBOX_READY
        if view is not None and view.ready == ready:
            return view
        try:
            result = await self.client.pod_sandbox_status(sandbox.id, timeout=RELIST_TIMEOUT_S)
        except NotFound:
            return None
        return runtime_sandbox(result.status) if result.status else None

    async def _container(
        self, container: d.Container, known: Mapping[str, RuntimeContainer]
    ) -> RuntimeContainer | None:
        view = known.get(container.id)
        if view is not None and view.state == container.state:
            return view
        try:
            result = await self.client.container_status(container.id, timeout=RELIST_TIMEOUT_S)
        except NotFound:
            return None
        if result.status is None:
            return None
        return runtime_container(result.status, container.pod_sandbox_id)

    def _apply_event(self, event: d.ContainerEvent) -> None:
        status = event.pod_sandbox_status
        if status is None:
            self._wake.set()  # the sandbox is gone: a relist tells which pod changed
            return
        uid = status.labels.get(lbl.POD_UID, "")
        if not uid:
            return
        before = self.snapshot.pod(uid)
        containers = [
            runtime_container(c, status.id) for c in event.containers_statuses if c.labels.get(lbl.POD_UID)
        ]
        after = _pod(
            uid,
            [s for s in before.sandboxes if s.id != status.id] + [runtime_sandbox(status)],
            [c for c in before.containers if c.sandbox_id != status.id] + containers,
        )
        self._install({uid: after}, scope={uid}, read_at=event.created_at)

    async def run(self) -> None:
        """Relists every period (or when an event asks for it) and follows container events."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._watch_events(), name="pleg-events")
            group.create_task(self._relist_periodically(), name="pleg-relist")

    async def _relist_periodically(self) -> None:
        while True:
            try:
                await self.relist()
            except CRIError as exc:
                log.warning("relist failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.relist_period_s)
            self._wake.clear()

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
        sandboxes=tuple(sorted(sandboxes, key=lambda s: (s.attempt, s.created_at, s.id), reverse=True)),
        containers=tuple(
            sorted(containers, key=lambda c: (c.restart_count, c.created_at, c.id), reverse=True)
        ),
    )
