"""The scheduler against an apiserver: pods and nodes through informers, `pods/binding`, evictions,
`status.nominatedNodeName`, the PodScheduled condition and core/v1 Events, all through the client
library's Api (the RestClient, or its FakeApi in unit tests)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from api.client import errors
from api.client.clock import Clock, MonotonicClock
from api.client.events import EventRecorder
from api.client.informer import EventHandler, InformerFactory
from api.client.protocol import Api
from api.client.resources import NODES, PODS
from api.client.types import Obj, PatchType
from scheduler.cluster import BindConflictError, ClusterError, ClusterWatcher
from scheduler.objects import Pod

log = logging.getLogger(__name__)


def _time(clock: Clock) -> str:
    return clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiCluster:
    """The ClusterWriter over the API. Event and condition writes that fail are logged, never the
    scheduler's failure (as upstream's event broadcaster); binding failures are the scheduler's."""

    def __init__(self, api: Api, component: str = "default-scheduler", clock: Clock | None = None) -> None:
        self.api = api
        self.component = component
        self.clock: Clock = clock or MonotonicClock()
        self.events = EventRecorder(api, component, clock=self.clock)

    async def bind(self, pod: Pod, node_name: str) -> None:
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        try:
            await self.api.create(
                PODS, binding, namespace=pod.namespace, name=pod.name, subresource="binding"
            )
        except (errors.Conflict, errors.NotFound) as exc:
            raise BindConflictError(exc.message) from exc
        except errors.ApiError as exc:
            raise ClusterError(exc.message) from exc
        except errors.ApiUnreachable as exc:
            raise ClusterError(str(exc)) from exc

    async def delete_pod(self, pod: Pod, grace_period_seconds: int | None) -> None:
        try:
            await self.api.delete(
                PODS,
                pod.name,
                namespace=pod.namespace,
                grace_period_seconds=grace_period_seconds,
                preconditions={"uid": pod.uid} if pod.uid else None,
            )
        except (errors.NotFound, errors.Conflict):
            log.info("preemption victim %s is already gone", pod.key)
        except errors.ApiError as exc:
            raise ClusterError(f"deleting preemption victim {pod.key}: {exc.message}") from exc
        except errors.ApiUnreachable as exc:
            raise ClusterError(f"deleting preemption victim {pod.key}: {exc}") from exc

    async def set_nominated_node(self, pod: Pod, node_name: str) -> None:
        patch = {"status": {"nominatedNodeName": node_name or None}}
        await self._patch_status(pod, patch)

    async def record_scheduled(self, pod: Pod, node_name: str) -> None:
        await self._event(pod, "Normal", "Scheduled", f"Successfully assigned {pod.key} to {node_name}")

    async def record_failure(self, pod: Pod, reason: str, message: str) -> None:
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": _time(self.clock),
        }
        conditions = [
            c
            for c in (pod.raw.get("status") or {}).get("conditions") or ()
            if c.get("type") != "PodScheduled"
        ]
        await self._patch_status(pod, {"status": {"conditions": [*conditions, condition]}})
        await self._event(pod, "Warning", "FailedScheduling", message)

    async def _patch_status(self, pod: Pod, patch: Mapping[str, Any]) -> None:
        try:
            await self.api.patch(
                PODS,
                pod.name,
                patch,
                patch_type=PatchType.MERGE,
                namespace=pod.namespace,
                subresource="status",
            )
        except (errors.ApiError, errors.ApiUnreachable) as exc:
            log.warning("updating the status of pod %s failed: %s", pod.key, exc)

    async def _event(self, pod: Pod, kind: str, reason: str, message: str) -> None:
        await self.events.record(pod.raw, reason, message, event_type=kind)


def watch_cluster(informers: InformerFactory, watcher: ClusterWatcher) -> None:
    """Pods and nodes informers feeding the scheduler's handlers (it filters what it schedules)."""
    for resource, handle in ((PODS, watcher.on_pod), (NODES, watcher.on_node)):
        informers.informer(resource).add_handler(_handler(handle))


def _handler(handle: Callable[[str, Obj], None]) -> EventHandler:
    return EventHandler(
        on_add=lambda obj: handle("ADDED", obj),
        on_update=lambda old, new: handle("MODIFIED", new),
        on_delete=lambda obj: handle("DELETED", obj),
    )
