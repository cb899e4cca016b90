"""The scheduler against the apiserver, driven by the real kubectl 1.32."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from api.client.kubeconfig import load_kubeconfig
from api.client.rest import RestClient
from scheduler.app import Options, SchedulerApp
from scheduler.config import SchedulerConfig
from tests.apiserver.kubectl import Kubectl
from tinykube.testbeds.apiserver import running_apiserver

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("kubectl")]
WITHIN_S = 30.0


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    """An apiserver on SQLite with one scheduler running against it."""
    async with running_apiserver(tmp_path, storage="sqlite:") as server:
        home = tmp_path / "home"
        home.mkdir()
        async with RestClient(load_kubeconfig(server.kubeconfig)) as api:
            app = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="scheduler-a"))
            task = asyncio.create_task(app.run())
            try:
                yield Kubectl(server.kubeconfig, home)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WITHIN_S
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {WITHIN_S}s: {what}")
        await asyncio.sleep(0.1)


async def _add_node(kubectl: Kubectl, name: str, cpu: str, *, taints: str = "[]", labels: str = "{}") -> None:
    manifest = (
        f"apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {labels}\n"
        f"spec:\n  taints: {taints}\n"
    )
    await kubectl.ok("apply", "-f", "-", stdin=manifest)
    capacity = {"cpu": cpu, "memory": "8Gi", "pods": "110"}
    status = json.dumps({"status": {"capacity": capacity, "allocatable": capacity}})
    await kubectl.ok("patch", "node", name, "--subresource=status", "--type=merge", "-p", status)


def _pod(name: str, cpu: str, extra: str = "") -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n"
        f"  containers:\n  - name: c\n    image: registry.k8s.io/pause:3.10\n"
        f"    resources: {{requests: {{cpu: '{cpu}'}}}}\n{extra}"
    )


async def _node_of(kubectl: Kubectl, pod: str) -> str:
    return await kubectl.ok("get", "pod", pod, "-o", "jsonpath={.spec.nodeName}")


async def test_applied_pods_are_bound_and_a_pod_that_fits_nowhere_waits_with_failed_scheduling(
    kubectl: Kubectl,
) -> None:
    await _add_node(kubectl, "small", "1")
    await kubectl.ok("apply", "-f", "-", stdin=_pod("web", "500m"))

    async def web_bound() -> bool:
        return await _node_of(kubectl, "web") == "small"

    await _until(web_bound, "web bound to small")
    await kubectl.ok("apply", "-f", "-", stdin=_pod("big", "2"))
    message = "0/1 nodes are available: 1 Insufficient cpu."

    async def described() -> bool:
        return message in await kubectl.ok("describe", "pod", "big")

    await _until(described, "FailedScheduling in kubectl describe")
    description = await kubectl.ok("describe", "pod", "big")
    assert "FailedScheduling" in description and "default-scheduler" in description
    await _add_node(kubectl, "large", "4")

    async def big_bound() -> bool:
        return await _node_of(kubectl, "big") == "large"

    await _until(big_bound, "big bound once a node fits")
    events = await kubectl.ok("get", "events", "--field-selector", "involvedObject.name=big")
    assert "Scheduled" in events


async def test_taints_affinity_and_preemption_end_to_end(kubectl: Kubectl) -> None:
    taint = "[{key: dedicated, value: gpu, effect: NoSchedule}]"
    await _add_node(kubectl, "gpu", "4", taints=taint, labels="{disk: ssd}")
    await _add_node(kubectl, "plain", "2", labels="{disk: hdd}")
    tolerating = "  tolerations: [{key: dedicated, operator: Exists}]\n"
    ssd = "  nodeSelector: {disk: ssd}\n"
    await kubectl.ok("apply", "-f", "-", stdin=_pod("untolerated", "100m", ssd))
    await kubectl.ok("apply", "-f", "-", stdin=_pod("tolerated", "100m", ssd + tolerating))

    async def tolerated_bound() -> bool:
        return await _node_of(kubectl, "tolerated") == "gpu"

    await _until(tolerated_bound, "the tolerating pod bound to the tainted node")

    async def untolerated_waits() -> bool:
        return "1 node(s) had untolerated taint {dedicated: gpu}" in await kubectl.ok(
            "describe", "pod", "untolerated"
        )

    await _until(untolerated_waits, "untolerated taint in FailedScheduling")
    assert await _node_of(kubectl, "untolerated") == ""
    await kubectl.ok("apply", "-f", "-", stdin=_pod("filler", "2", "  priority: 0\n"))

    async def filler_bound() -> bool:
        return await _node_of(kubectl, "filler") == "plain"

    await _until(filler_bound, "the low-priority filler bound")
    await kubectl.ok(
        "apply", "-f", "-", stdin=_pod("urgent", "2", "  priority: 1000\n  nodeSelector: {disk: hdd}\n")
    )

    async def filler_evicted() -> bool:
        deleting = await kubectl.run("get", "pod", "filler", "-o", "jsonpath={.metadata.deletionTimestamp}")
        return deleting.code != 0 or bool(deleting.out)

    await _until(filler_evicted, "the filler evicted by preemption")
    nominated = await kubectl.ok("get", "pod", "urgent", "-o", "jsonpath={.status.nominatedNodeName}")
    assert nominated == "plain"
    # no kubelet here: finish the graceful deletion as the node's kubelet would
    await kubectl.run("delete", "pod", "filler", "--grace-period=0", "--force")

    async def urgent_bound() -> bool:
        return await _node_of(kubectl, "urgent") == "plain"

    await _until(urgent_bound, "the urgent pod bound where it preempted the filler")


async def test_stopping_the_leader_lets_the_second_scheduler_take_over(tmp_path: Path) -> None:
    async with running_apiserver(tmp_path, storage="sqlite:") as server:
        home = tmp_path / "home"
        home.mkdir()
        kubectl = Kubectl(server.kubeconfig, home)
        async with RestClient(load_kubeconfig(server.kubeconfig)) as api:
            first = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="first"))
            second = SchedulerApp(api, SchedulerConfig(), Options(health_port=0, identity="second"))
            leading = asyncio.create_task(first.run())
            standby: asyncio.Task[None] | None = None
            try:
                await _add_node(kubectl, "worker", "4")

                async def holder_is(name: str) -> bool:
                    lease = await kubectl.run(
                        "get",
                        "lease",
                        "kube-scheduler",
                        "-n",
                        "kube-system",
                        "-o",
                        "jsonpath={.spec.holderIdentity}",
                    )
                    return lease.out == name

                await _until(lambda: holder_is("first"), "the first scheduler leading")
                standby = asyncio.create_task(second.run())
                await asyncio.wait_for(second.informers.wait_synced(), WITHIN_S)
                leading.cancel()
                await asyncio.gather(leading, return_exceptions=True)
                await _until(lambda: holder_is("second"), "the second scheduler taking over")
                await kubectl.ok("apply", "-f", "-", stdin=_pod("after", "100m"))

                async def bound() -> bool:
                    return await _node_of(kubectl, "after") == "worker"

                await _until(bound, "a pod bound by the new leader")
            finally:
                tasks = [task for task in (leading, standby) if task is not None]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
