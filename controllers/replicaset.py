"""The ReplicaSet controller: keeps ``spec.replicas`` active pods matching the selector, and reports status.

As upstream's (pkg/controller/replicaset): pods are claimed by owner reference, orphans matching the
selector adopted and owned pods that stopped matching released; creates go in slow-start batches
(1, 2, 4...) of at most 500 per sync; deletes prefer unscheduled, pending, then not-ready pods;
expectations keep a lagging watch from causing double creation; status counts replicas, fully labeled,
ready and available (ready for ``minReadySeconds``) pods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from api.client import errors
from api.client.clock import Clock, MonotonicClock
from api.client.controller import Controller
from api.client.events import WARNING, EventRecorder
from api.client.informer import EventHandler, InformerFactory
from api.client.metrics import QueueMetrics
from api.client.protocol import Api
from api.client.resources import PODS, REPLICASETS
from api.client.selectors import label_selector_matcher, labels_of
from api.client.types import Obj, PatchType, meta, object_key
from controllers.expectations import Expectations
from controllers.pods import (
    available_in,
    controller_of,
    deletion_rank,
    is_active,
    is_ready,
    owner_reference,
    pod_from_template,
)

log = logging.getLogger(__name__)

COMPONENT = "replicaset-controller"
BURST_REPLICAS = 500


class ReplicaSetController:
    def __init__(
        self,
        api: Api,
        informers: InformerFactory,
        *,
        workers: int = 5,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self.api = api
        self.clock: Clock = clock or MonotonicClock()
        self.replicasets = informers.informer(REPLICASETS)
        self.pods = informers.informer(PODS)
        self.loop = Controller("replicaset", self.sync, workers=workers, clock=self.clock, metrics=metrics)
        self.expectations = Expectations(self.clock)
        self.events = EventRecorder(api, COMPONENT, clock=self.clock)
        self.replicasets.add_handler(
            EventHandler(on_add=self.loop.enqueue, on_update=self._rs_updated, on_delete=self._rs_deleted)
        )
        self.pods.add_handler(
            EventHandler(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)
        )

    async def run(self) -> None:
        await self.loop.run([self.replicasets, self.pods])

    # --- events -> keys

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        self.loop.enqueue(new)

    def _rs_deleted(self, rs: Obj) -> None:
        self.expectations.forget(object_key(rs))
        self.loop.enqueue(rs)

    def _owner_key(self, pod: Mapping[str, Any]) -> str | None:
        reference = controller_of(pod)
        if reference is None or reference.get("kind") != "ReplicaSet":
            return None
        key = f"{meta(pod).get('namespace')}/{reference.get('name')}"
        rs = self.replicasets.store.get(key)
        return key if rs is not None and meta(rs).get("uid") == reference.get("uid") else None

    def _enqueue_matching(self, pod: Mapping[str, Any]) -> None:
        labels = labels_of(pod)
        for rs in self.replicasets.store.by_index("namespace", str(meta(pod).get("namespace"))):
            if label_selector_matcher((rs.get("spec") or {}).get("selector"))(labels):
                self.loop.enqueue(rs)

    def _pod_added(self, pod: Obj) -> None:
        if meta(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.observed_add(key)
            self.loop.queue.add(key)
        elif controller_of(pod) is None:
            self._enqueue_matching(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(new).get("deletionTimestamp") and not meta(old).get("deletionTimestamp"):
            self._pod_deleted(new)
            return
        for pod in (old, new):
            key = self._owner_key(pod)
            if key is not None:
                self.loop.queue.add(key)
        orphaned_or_relabeled = labels_of(old) != labels_of(new) or controller_of(old) is not None
        if controller_of(new) is None and orphaned_or_relabeled:
            self._enqueue_matching(new)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.observed_delete(key, object_key(pod))
            self.loop.queue.add(key)

    # --- reconcile

    async def sync(self, key: str) -> None:
        rs = self.replicasets.store.get(key)
        if rs is None:
            self.expectations.forget(key)
            return
        namespace = str(meta(rs)["namespace"])
        active = [p for p in self.pods.store.by_index("namespace", namespace) if is_active(p)]
        owned = await self._claim(rs, active)
        failure: Exception | None = None
        if self.expectations.satisfied(key) and not meta(rs).get("deletionTimestamp"):
            try:
                await self._manage(key, rs, owned)
            except (errors.ApiError, errors.ApiUnreachable) as error:
                failure = error
        await self._update_status(key, rs, owned)
        if failure is not None:
            raise failure

    async def _claim(self, rs: Obj, active: list[Obj]) -> list[Obj]:
        matches = label_selector_matcher((rs.get("spec") or {}).get("selector"))
        uid = meta(rs)["uid"]
        deleting = bool(meta(rs).get("deletionTimestamp"))
        owned: list[Obj] = []
        for pod in active:
            reference = controller_of(pod)
            selected = matches(labels_of(pod))
            if reference is not None and reference.get("uid") == uid:
                if selected or deleting:
                    owned.append(pod)
                else:
                    await self._patch_owners(pod, {"$patch": "delete", "uid": uid})
            elif reference is None and selected and not deleting:
                adopted = await self._patch_owners(pod, owner_reference(rs))
                if adopted is not None:
                    owned.append(adopted)
        return owned

    async def _patch_owners(self, pod: Obj, reference: Obj) -> Obj | None:
        """Adds or (with ``$patch: delete``) removes one owner reference, as upstream's strategic patch."""
        patch = {"metadata": {"ownerReferences": [reference], "uid": meta(pod)["uid"]}}
        try:
            return await self.api.patch(
                PODS,
                meta(pod)["name"],
                patch,
                patch_type=PatchType.STRATEGIC,
                namespace=meta(pod)["namespace"],
            )
        except errors.NotFound:
            return None

    async def _manage(self, key: str, rs: Obj, owned: list[Obj]) -> None:
        diff = len(owned) - int((rs.get("spec") or {}).get("replicas", 1))
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            self.expectations.expect(key, adds=count)
            created, failure = await _slow_start(count, lambda: self._create_pod(rs))
            for _ in range(count - created):
                self.expectations.observed_add(key)
            if failure is not None:
                raise failure
        elif diff > 0:
            victims = sorted(owned, key=deletion_rank)[: min(diff, BURST_REPLICAS)]
            self.expectations.expect(key, deletes=[object_key(p) for p in victims])
            await asyncio.gather(*(self._delete_pod(key, rs, pod) for pod in victims))

    async def _create_pod(self, rs: Obj) -> None:
        template = (rs.get("spec") or {}).get("template") or {}
        try:
            pod = await self.api.create(PODS, pod_from_template(rs, template))
        except errors.ApiError as error:
            await self.events.record(
                rs, "FailedCreate", f"Error creating: {error.message}", event_type=WARNING
            )
            raise
        await self.events.record(rs, "SuccessfulCreate", f"Created pod: {meta(pod)['name']}")

    async def _delete_pod(self, key: str, rs: Obj, pod: Obj) -> None:
        name = str(meta(pod)["name"])
        try:
            await self.api.delete(PODS, name, namespace=meta(pod)["namespace"])
        except errors.NotFound:
            self.expectations.observed_delete(key, object_key(pod))
            return
        await self.events.record(rs, "SuccessfulDelete", f"Deleted pod: {name}")

    async def _update_status(self, key: str, rs: Obj, owned: list[Obj]) -> None:
        spec = rs.get("spec") or {}
        min_ready = float(spec.get("minReadySeconds") or 0)
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        now = self.clock.wall()
        waits = [w for pod in owned if (w := available_in(pod, min_ready, now)) is not None]
        counts = {
            "replicas": len(owned),
            "fullyLabeledReplicas": sum(1 for p in owned if template_labels.items() <= labels_of(p).items()),
            "readyReplicas": sum(1 for p in owned if is_ready(p)),
            "availableReplicas": sum(1 for w in waits if w == 0),
            "observedGeneration": int(meta(rs).get("generation") or 0),
        }
        status = {k: v for k, v in counts.items() if v or k == "replicas"}
        old = rs.get("status") or {}
        if any(old.get(k, 0) != counts[k] for k in counts):
            kept = {k: v for k, v in old.items() if k not in counts}
            await self.api.update(REPLICASETS, {**rs, "status": {**kept, **status}}, subresource="status")
        if pending := [w for w in waits if w > 0]:
            self.loop.queue.add_after(key, min(pending))


async def _slow_start(
    count: int, create: Callable[[], Awaitable[None]]
) -> tuple[int, errors.ApiError | errors.ApiUnreachable | None]:
    """Creates in batches of 1, 2, 4... and stops after a batch with a failure: (created, first failure)."""
    done, batch = 0, 1
    while done < count:
        size = min(batch, count - done)
        results = await asyncio.gather(*(create() for _ in range(size)), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, errors.ApiError | errors.ApiUnreachable
            ):
                raise result
        failures = [r for r in results if isinstance(r, errors.ApiError | errors.ApiUnreachable)]
        done += size - len(failures)
        if failures:
            return done, failures[0]
        batch *= 2
    return done, None
