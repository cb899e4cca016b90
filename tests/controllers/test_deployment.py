"""The Deployment controller with the ReplicaSet controller and a stand-in kubelet that readies pods."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from api.client.informer import InformerFactory
from api.client.protocol import Api
from api.client.resources import DEPLOYMENTS, PODS, REPLICASETS
from api.client.types import EventType, Obj, PatchType
from controllers.deployment import DeploymentController
from controllers.replicaset import ReplicaSetController
from controllers.rollout import REVISION
from tests.client.polling import eventually

NS = "default"
READY = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}


def deployment(
    name: str, replicas: int, image: str, strategy: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy or {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


@dataclass
class PodLog:
    """Every pod transition seen by a watch: the most pods alive and the fewest ready at any moment."""

    alive: dict[str, str] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)
    most_alive: int = 0
    fewest_ready_after_start: int | None = None

    def see(self, event_type: EventType, pod: Obj, counting: bool) -> None:
        name = pod["metadata"]["name"]
        if event_type is EventType.DELETED:
            self.alive.pop(name, None)
            self.ready.discard(name)
        else:
            self.alive[name] = pod["spec"]["containers"][0]["image"]
            if any(c.get("type") == "Ready" for c in (pod.get("status") or {}).get("conditions") or ()):
                self.ready.add(name)
        self.most_alive = max(self.most_alive, len(self.alive))
        if counting:
            low = self.fewest_ready_after_start
            self.fewest_ready_after_start = len(self.ready) if low is None else min(low, len(self.ready))


async def kubelet(api: Api, log: PodLog, counting: asyncio.Event) -> None:
    """Marks every new pod Running and Ready, as a node would, and logs every transition."""
    events = api.watch(
        PODS, namespace=NS, resource_version=(await api.list(PODS, namespace=NS)).resource_version
    )
    async with contextlib.aclosing(events):
        async for event in events:
            log.see(event.type, event.object, counting.is_set())
            if event.type is EventType.ADDED:
                status = {"phase": "Running", "conditions": [READY]}
                with contextlib.suppress(Exception):
                    await api.update(PODS, {**event.object, "status": status}, subresource="status")


@asynccontextmanager
async def controllers(api: Api) -> AsyncIterator[DeploymentController]:
    """A controller-manager's worth: shared informers, the Deployment and ReplicaSet controllers."""
    factory = InformerFactory(api)
    deployments = DeploymentController(api, factory)
    replicasets = ReplicaSetController(api, factory)
    async with asyncio.TaskGroup() as tasks:
        runs = [
            tasks.create_task(factory.run()),
            tasks.create_task(deployments.run()),
            tasks.create_task(replicasets.run()),
        ]
        try:
            yield deployments
        finally:
            for run in runs:
                run.cancel()


@asynccontextmanager
async def cluster(api: Api) -> AsyncIterator[tuple[DeploymentController, PodLog, asyncio.Event]]:
    log, counting = PodLog(), asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        node = tasks.create_task(kubelet(api, log, counting))
        try:
            async with controllers(api) as deployments:
                yield deployments, log, counting
        finally:
            node.cancel()


def status(controller: DeploymentController, name: str) -> dict[str, Any]:
    return dict((controller.deployments.store.get(f"{NS}/{name}") or {}).get("status") or {})


def owned_replicasets(controller: DeploymentController, name: str) -> list[Obj]:
    deployment = controller.deployments.store.get(f"{NS}/{name}")
    return controller._owned(deployment) if deployment else []


def rolled_out(controller: DeploymentController, name: str, replicas: int) -> bool:
    current = status(controller, name)
    return (
        current.get("updatedReplicas") == replicas
        and current.get("availableReplicas") == replicas
        and current.get("replicas") == replicas
    )


async def test_a_deployment_runs_its_replicas_through_one_replicaset(api: Api) -> None:
    async with cluster(api) as (controller, log, _):
        await api.create(DEPLOYMENTS, deployment("web", 3, "busybox:1"))
        await eventually(lambda: rolled_out(controller, "web", 3), within_s=10)
        (rs,) = owned_replicasets(controller, "web")
        conditions = {c["type"]: c["reason"] for c in status(controller, "web")["conditions"]}
    assert rs["metadata"]["annotations"][REVISION] == "1"
    assert rs["metadata"]["name"] == f"web-{rs['metadata']['labels']['pod-template-hash']}"
    assert len(log.alive) == 3
    assert conditions == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}


async def test_a_rolling_update_stays_within_surge_and_unavailability(api: Api) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    async with cluster(api) as (controller, log, counting):
        await api.create(DEPLOYMENTS, deployment("web", 4, "busybox:1", strategy))
        await eventually(lambda: rolled_out(controller, "web", 4) and len(log.ready) == 4, within_s=10)
        counting.set()
        log.most_alive = 0
        new_image = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}
        await api.patch(DEPLOYMENTS, "web", new_image, patch_type=PatchType.STRATEGIC, namespace=NS)
        await eventually(
            lambda: rolled_out(controller, "web", 4) and set(log.alive.values()) == {"busybox:2"}, within_s=20
        )
        revisions = sorted(
            rs["metadata"]["annotations"][REVISION] for rs in owned_replicasets(controller, "web")
        )
    assert log.most_alive <= 4 + 1
    assert log.fewest_ready_after_start is not None and log.fewest_ready_after_start >= 4 - 1
    assert revisions == ["1", "2"]


async def test_recreate_removes_every_old_pod_before_starting_new_ones(api: Api) -> None:
    async with cluster(api) as (controller, log, _):
        await api.create(DEPLOYMENTS, deployment("web", 2, "busybox:1", {"type": "Recreate"}))
        await eventually(lambda: rolled_out(controller, "web", 2), within_s=10)
        mixed: list[bool] = []
        log_see = log.see

        def see(event_type: EventType, pod: Obj, counting: bool) -> None:
            log_see(event_type, pod, counting)
            mixed.append(len(set(log.alive.values())) > 1)

        log.see = see  # type: ignore[method-assign]
        new_image = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}
        await api.patch(DEPLOYMENTS, "web", new_image, patch_type=PatchType.STRATEGIC, namespace=NS)
        await eventually(
            lambda: rolled_out(controller, "web", 2) and set(log.alive.values()) == {"busybox:2"}, within_s=20
        )
    assert not any(mixed)


async def test_a_rollback_reuses_the_old_replicaset_at_the_next_revision(api: Api) -> None:
    async with cluster(api) as (controller, log, _):
        created = await api.create(DEPLOYMENTS, deployment("web", 2, "busybox:1"))
        await eventually(lambda: rolled_out(controller, "web", 2), within_s=10)
        (first,) = owned_replicasets(controller, "web")
        to_v2 = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}
        await api.patch(DEPLOYMENTS, "web", to_v2, patch_type=PatchType.STRATEGIC, namespace=NS)
        await eventually(
            lambda: set(log.alive.values()) == {"busybox:2"} and rolled_out(controller, "web", 2), within_s=20
        )
        back = {"spec": {"template": created["spec"]["template"]}}
        await api.patch(DEPLOYMENTS, "web", back, patch_type=PatchType.MERGE, namespace=NS)
        await eventually(
            lambda: set(log.alive.values()) == {"busybox:1"} and rolled_out(controller, "web", 2), within_s=20
        )
        by_name = {rs["metadata"]["name"]: rs for rs in owned_replicasets(controller, "web")}
    assert len(by_name) == 2
    assert by_name[first["metadata"]["name"]]["metadata"]["annotations"][REVISION] == "3"
    assert (await api.get(DEPLOYMENTS, "web", namespace=NS))["metadata"]["annotations"][REVISION] == "3"


async def test_scaling_the_deployment_scales_its_replicaset(api: Api) -> None:
    async with cluster(api) as (controller, log, _):
        await api.create(DEPLOYMENTS, deployment("web", 2, "busybox:1"))
        await eventually(lambda: rolled_out(controller, "web", 2), within_s=10)
        await api.patch(
            DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, patch_type=PatchType.MERGE, namespace=NS
        )
        await eventually(lambda: rolled_out(controller, "web", 5) and len(log.alive) == 5, within_s=10)
        await api.patch(
            DEPLOYMENTS, "web", {"spec": {"replicas": 1}}, patch_type=PatchType.MERGE, namespace=NS
        )
        await eventually(lambda: rolled_out(controller, "web", 1) and len(log.alive) == 1, within_s=10)
    assert len(owned_replicasets(controller, "web")) == 1
    assert [rs["spec"]["replicas"] for rs in await _replicasets(api)] == [1]


async def _replicasets(api: Api) -> list[Obj]:
    return list((await api.list(REPLICASETS, namespace=NS)).items)


async def test_a_paused_deployment_is_not_rolled_out_until_resumed(api: Api) -> None:
    async with cluster(api) as (controller, log, _):
        await api.create(DEPLOYMENTS, deployment("web", 2, "busybox:1"))
        await eventually(lambda: rolled_out(controller, "web", 2), within_s=10)
        pause_and_change = {
            "spec": {
                "paused": True,
                "template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}},
            }
        }
        await api.patch(DEPLOYMENTS, "web", pause_and_change, patch_type=PatchType.STRATEGIC, namespace=NS)
        await eventually(lambda: status(controller, "web").get("observedGeneration") == 2)
        assert len(owned_replicasets(controller, "web")) == 1
        await api.patch(
            DEPLOYMENTS, "web", {"spec": {"paused": False}}, patch_type=PatchType.MERGE, namespace=NS
        )
        await eventually(
            lambda: rolled_out(controller, "web", 2) and set(log.alive.values()) == {"busybox:2"}, within_s=20
        )


async def test_a_controller_manager_restarted_mid_rollout_finishes_it_without_extra_pods(api: Api) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 5, "maxUnavailable": 0}}
    log, counting = PodLog(), asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        node = tasks.create_task(kubelet(api, log, counting))
        async with controllers(api) as first:
            await api.create(DEPLOYMENTS, deployment("web", 50, "busybox:1", strategy))
            await eventually(lambda: rolled_out(first, "web", 50) and len(log.ready) == 50, within_s=30)
            log.most_alive = 0
            new_image = {
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}
            }
            await api.patch(DEPLOYMENTS, "web", new_image, patch_type=PatchType.STRATEGIC, namespace=NS)
            await eventually(lambda: 0 < sum(i == "busybox:2" for i in log.alive.values()) < 50)
        async with controllers(api) as second:
            await eventually(
                lambda: rolled_out(second, "web", 50) and set(log.alive.values()) == {"busybox:2"},
                within_s=60,
            )
        node.cancel()
    assert log.most_alive <= 50 + 5
    assert len(log.alive) == 50
