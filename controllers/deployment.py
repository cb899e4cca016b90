"""The Deployment controller: a ReplicaSet per pod template, rolled out as the strategy says.

As upstream's (pkg/controller/deployment): the ReplicaSet whose template matches the Deployment's is
the new one (created at revision max+1, named ``<deployment>-<template hash>``; an old one brought back
by a rollback gets the next revision); RollingUpdate scales it up within ``maxSurge`` and old ones down
within ``maxUnavailable`` (unhealthy old replicas first); Recreate scales every old one to 0 and waits
for their pods to be gone before scaling the new one up. Old ReplicaSets beyond
``revisionHistoryLimit`` are deleted; status and the Available and Progressing conditions follow.
A paused Deployment is not rolled out.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Mapping
from typing import Any

from api.client import errors
from api.client.clock import Clock, MonotonicClock
from api.client.controller import Controller
from api.client.events import EventRecorder
from api.client.informer import EventHandler, InformerFactory
from api.client.metrics import QueueMetrics
from api.client.protocol import Api
from api.client.resources import DEPLOYMENTS, PODS, REPLICASETS
from api.client.types import Obj, meta
from controllers.pods import available_in, controller_of, is_active, owner_reference
from controllers.rollout import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
    max_revision,
    revision,
    same_template,
    spec_replicas,
    status_count,
    surge_and_unavailable,
    template_hash,
)

log = logging.getLogger(__name__)

COMPONENT = "deployment-controller"
DEFAULT_HISTORY_LIMIT = 10


class DeploymentController:
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
        self.deployments = informers.informer(DEPLOYMENTS)
        self.replicasets = informers.informer(REPLICASETS)
        self.pods = informers.informer(PODS)
        self.loop = Controller("deployment", self.sync, workers=workers, clock=self.clock, metrics=metrics)
        self.events = EventRecorder(api, COMPONENT, clock=self.clock)
        self.deployments.add_handler(self.loop.handler())
        owner_changed = EventHandler(
            on_add=self._enqueue_owner,
            on_update=lambda old, new: self._enqueue_owner(new),
            on_delete=self._enqueue_owner,
        )
        self.replicasets.add_handler(owner_changed)
        self.pods.add_handler(EventHandler(on_delete=self._pod_gone))

    async def run(self) -> None:
        await self.loop.run([self.deployments, self.replicasets, self.pods])

    def _enqueue_owner(self, rs: Obj) -> None:
        reference = controller_of(rs)
        if reference is not None and reference.get("kind") == "Deployment":
            self.loop.queue.add(f"{meta(rs)['namespace']}/{reference['name']}")

    def _pod_gone(self, pod: Obj) -> None:
        """A pod gone makes room for a surge (and lets Recreate go on): resync its Deployment."""
        reference = controller_of(pod)
        if reference is None or reference.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.store.get(f"{meta(pod)['namespace']}/{reference['name']}")
        if rs is not None:
            self._enqueue_owner(rs)

    def _owned(self, deployment: Obj) -> list[Obj]:
        uid = meta(deployment)["uid"]
        namespace = str(meta(deployment)["namespace"])
        return [
            rs
            for rs in self.replicasets.store.by_index("namespace", namespace)
            if (controller_of(rs) or {}).get("uid") == uid
        ]

    async def sync(self, key: str) -> None:
        deployment = self.deployments.store.get(key)
        if deployment is None or meta(deployment).get("deletionTimestamp"):
            return
        replicasets = self._owned(deployment)
        new = _find_new(deployment, replicasets)
        olds = [rs for rs in replicasets if rs is not new]
        if not (deployment.get("spec") or {}).get("paused"):
            new = await self._ensure_new(deployment, new, olds)
            deployment = await self._annotate_revision(deployment, new)
            if _strategy(deployment) == "Recreate":
                await self._recreate(deployment, new, olds)
            else:
                await self._rolling(deployment, new, olds)
            await self._clean_up_history(deployment, olds)
        await self._update_status(deployment, new, olds)

    # --- the new ReplicaSet

    async def _ensure_new(self, deployment: Obj, new: Obj | None, olds: list[Obj]) -> Obj:
        """The new ReplicaSet, created if missing; one brought back by a rollback gets the next revision."""
        next_revision = max_revision(olds) + 1
        if new is None:
            return await self._create_new(deployment, next_revision)
        if revision(new) < next_revision:
            annotations = {**(meta(new).get("annotations") or {}), REVISION: str(next_revision)}
            new = await self.api.update(
                REPLICASETS, {**new, "metadata": {**meta(new), "annotations": annotations}}
            )
        return new

    async def _annotate_revision(self, deployment: Obj, new: Obj) -> Obj:
        """The Deployment carries its new ReplicaSet's revision, as ``kubectl rollout history`` reads it."""
        annotations = meta(deployment).get("annotations") or {}
        if annotations.get(REVISION) == str(revision(new)):
            return deployment
        annotated = {**meta(deployment), "annotations": {**annotations, REVISION: str(revision(new))}}
        return await self.api.update(DEPLOYMENTS, {**deployment, "metadata": annotated})

    async def _create_new(self, deployment: Obj, next_revision: int) -> Obj:
        spec = deployment.get("spec") or {}
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = template_hash(template)
        labels = {**((template.get("metadata") or {}).get("labels") or {}), POD_TEMPLATE_HASH: pod_hash}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = pod_hash
        surge, _ = surge_and_unavailable(deployment)
        replicas = int(spec.get("replicas", 1))
        name = f"{meta(deployment)['name']}-{pod_hash}"
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": meta(deployment)["namespace"],
                "labels": labels,
                "annotations": {
                    REVISION: str(next_revision),
                    DESIRED_REPLICAS: str(replicas),
                    MAX_REPLICAS: str(replicas + (surge if _strategy(deployment) != "Recreate" else 0)),
                },
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": spec.get("minReadySeconds", 0),
                "selector": selector,
                "template": template,
            },
        }
        try:
            return await self.api.create(REPLICASETS, rs)
        except errors.AlreadyExists:
            return await self.api.get(REPLICASETS, name, namespace=meta(deployment)["namespace"])

    # --- strategies

    async def _rolling(self, deployment: Obj, new: Obj, olds: list[Obj]) -> None:
        replicas = int((deployment.get("spec") or {}).get("replicas", 1))
        surge, unavailable = surge_and_unavailable(deployment)
        everything = [new, *olds]
        if spec_replicas(new) > replicas:
            await self._scale(deployment, new, replicas)
        elif spec_replicas(new) < replicas:
            # Pods of scaled-down ReplicaSets count until they are gone, so the pods that exist at any
            # moment, not only the ReplicaSets' specs, stay within replicas + maxSurge.
            counted = max(sum(spec_replicas(rs) for rs in everything), self._active_pods(everything))
            room = replicas + surge - counted
            if room > 0:
                await self._scale(
                    deployment, new, spec_replicas(new) + min(room, replicas - spec_replicas(new))
                )
        await self._scale_down_olds(deployment, new, olds, replicas - unavailable)

    def _active_pods(self, replicasets: list[Obj]) -> int:
        uids = {meta(rs)["uid"] for rs in replicasets}
        namespace = str(meta(replicasets[0])["namespace"])
        return sum(
            1
            for pod in self.pods.store.by_index("namespace", namespace)
            if (controller_of(pod) or {}).get("uid") in uids and not meta(pod).get("deletionTimestamp")
        )

    def _available(self, rs: Obj, deployment: Obj) -> int:
        """Available pods of ``rs`` as the pod cache sees them, at most its replicas: a ReplicaSet's
        status lags its own scale-down, and counting pods it is deleting could take availability below
        replicas - maxUnavailable."""
        min_ready = float((deployment.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.clock.wall()
        uid = meta(rs)["uid"]
        pods = self.pods.store.by_index("namespace", str(meta(rs)["namespace"]))
        count = sum(
            1
            for pod in pods
            if (controller_of(pod) or {}).get("uid") == uid
            and is_active(pod)
            and available_in(pod, min_ready, now) == 0
        )
        return min(count, spec_replicas(rs))

    async def _scale_down_olds(self, deployment: Obj, new: Obj, olds: list[Obj], min_available: int) -> None:
        """Upstream's reconcileOldReplicaSets: unhealthy old replicas go first, then available ones while
        more than ``min_available`` pods stay available."""
        running_olds = sorted((rs for rs in olds if spec_replicas(rs) > 0), key=_created)
        if not running_olds:
            return
        all_pods = spec_replicas(new) + sum(spec_replicas(rs) for rs in running_olds)
        new_unavailable = spec_replicas(new) - self._available(new, deployment)
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        scaled: list[Obj] = []
        for rs in running_olds:
            cut = min(max(spec_replicas(rs) - self._available(rs, deployment), 0), budget)
            if cut > 0:
                budget -= cut
                rs = await self._scale(deployment, rs, spec_replicas(rs) - cut)
            scaled.append(rs)
        available = sum(self._available(rs, deployment) for rs in [new, *scaled])
        remaining = available - min_available
        for rs in scaled:
            cut = min(spec_replicas(rs), remaining)
            if cut > 0:
                remaining -= cut
                await self._scale(deployment, rs, spec_replicas(rs) - cut)

    async def _recreate(self, deployment: Obj, new: Obj, olds: list[Obj]) -> None:
        for rs in olds:
            if spec_replicas(rs) > 0:
                await self._scale(deployment, rs, 0)
        old_uids = {meta(rs)["uid"] for rs in olds}
        namespace = str(meta(deployment)["namespace"])
        old_pods = [
            p
            for p in self.pods.store.by_index("namespace", namespace)
            if is_active(p) and (controller_of(p) or {}).get("uid") in old_uids
        ]
        if not old_pods and any(status_count(rs, "replicas") > 0 for rs in olds):
            return
        if not old_pods:
            await self._scale(deployment, new, int((deployment.get("spec") or {}).get("replicas", 1)))

    async def _scale(self, deployment: Obj, rs: Obj, replicas: int) -> Obj:
        before = spec_replicas(rs)
        if before == replicas:
            return rs
        desired = str((deployment.get("spec") or {}).get("replicas", 1))
        annotations = {**(meta(rs).get("annotations") or {}), DESIRED_REPLICAS: desired}
        scaled = {
            **rs,
            "metadata": {**meta(rs), "annotations": annotations},
            "spec": {**rs["spec"], "replicas": replicas},
        }
        updated = await self.api.update(REPLICASETS, scaled)
        direction = "up" if replicas > before else "down"
        message = f"Scaled {direction} replica set {meta(rs)['name']} from {before} to {replicas}"
        await self.events.record(deployment, "ScalingReplicaSet", message)
        return updated

    async def _clean_up_history(self, deployment: Obj, olds: list[Obj]) -> None:
        limit = (deployment.get("spec") or {}).get("revisionHistoryLimit", DEFAULT_HISTORY_LIMIT)
        idle = sorted(
            (rs for rs in olds if spec_replicas(rs) == 0 and status_count(rs, "replicas") == 0), key=revision
        )
        for rs in idle[: max(len(idle) - int(limit), 0)]:
            with contextlib.suppress(errors.NotFound):
                await self.api.delete(REPLICASETS, meta(rs)["name"], namespace=meta(rs)["namespace"])

    # --- status

    async def _update_status(self, deployment: Obj, new: Obj | None, olds: list[Obj]) -> None:
        spec = deployment.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        everything = [rs for rs in [new, *olds] if rs is not None]
        _, unavailable = surge_and_unavailable(deployment)
        available = sum(status_count(rs, "availableReplicas") for rs in everything)
        counts = {
            "replicas": sum(status_count(rs, "replicas") for rs in everything),
            "updatedReplicas": status_count(new, "replicas") if new is not None else 0,
            "readyReplicas": sum(status_count(rs, "readyReplicas") for rs in everything),
            "availableReplicas": available,
            "unavailableReplicas": max(replicas - available, 0),
            "observedGeneration": int(meta(deployment).get("generation") or 0),
        }
        old = deployment.get("status") or {}
        conditions = _conditions(
            old, available >= replicas - unavailable, new, everything, replicas, self.clock
        )
        status: dict[str, Any] = {
            k: v for k, v in counts.items() if v or k in ("replicas", "observedGeneration")
        }
        status["conditions"] = conditions
        if any(old.get(k, 0) != v for k, v in counts.items()) or _condition_view(old) != _condition_view(
            status
        ):
            await self.api.update(DEPLOYMENTS, {**deployment, "status": status}, subresource="status")


def _strategy(deployment: Obj) -> str:
    return str(((deployment.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate")


def _find_new(deployment: Obj, replicasets: list[Obj]) -> Obj | None:
    template = (deployment.get("spec") or {}).get("template") or {}
    matching = [
        rs for rs in replicasets if same_template((rs.get("spec") or {}).get("template") or {}, template)
    ]
    return min(matching, key=_created) if matching else None


def _created(rs: Mapping[str, Any]) -> tuple[str, str]:
    return str(meta(rs).get("creationTimestamp", "")), str(meta(rs).get("name", ""))


def _condition_view(status: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((c["type"], c["status"], c.get("reason", "")) for c in status.get("conditions") or ())


def _conditions(
    old: Mapping[str, Any],
    minimum_available: bool,
    new: Obj | None,
    everything: list[Obj],
    replicas: int,
    clock: Clock,
) -> list[dict[str, Any]]:
    now = clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
    previous = {c["type"]: c for c in old.get("conditions") or ()}
    complete = (
        new is not None
        and status_count(new, "replicas") == replicas
        and status_count(new, "availableReplicas") == replicas
        and sum(status_count(rs, "replicas") for rs in everything) == replicas
    )
    name = meta(new)["name"] if new is not None else ""
    wanted = [
        (
            "Available",
            "True" if minimum_available else "False",
            "MinimumReplicasAvailable" if minimum_available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if minimum_available
            else "Deployment does not have minimum availability.",
        ),
        (
            "Progressing",
            "True",
            "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
            f'ReplicaSet "{name}" has successfully progressed.'
            if complete
            else f'ReplicaSet "{name}" is progressing.',
        ),
    ]
    conditions = []
    for kind, status, reason, message in wanted:
        before = previous.get(kind, {})
        transition = before.get("lastTransitionTime", now) if before.get("status") == status else now
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastUpdateTime": before.get("lastUpdateTime", now)
                if before.get("reason") == reason
                else now,
                "lastTransitionTime": transition,
            }
        )
    return conditions
