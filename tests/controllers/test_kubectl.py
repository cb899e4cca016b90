"""The real kubectl against the apiserver with `tinykube controller-manager` running: Deployments get their
ReplicaSet and pods, scale, roll out with history, and deletion cascades (or orphans) as kubectl asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.client.kubeconfig import load_kubeconfig
from tests.apiserver.kubectl import Kubectl
from tinykube.commands import controller_manager
from tinykube.commands.controller_manager import ControllerManagerConfig
from tinykube.testbeds.apiserver import running_apiserver

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("kubectl")]
BOUND_S = 30.0


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with running_apiserver(tmp_path) as server:
        config = ControllerManagerConfig(
            client=load_kubeconfig(server.kubeconfig),
            leader_elect=True,
            identity="test-controller-manager",
            health_port=0,
            replicaset_workers=2,
            deployment_workers=2,
        )
        manager = asyncio.ensure_future(controller_manager.serve(config))
        home = tmp_path / "home"
        home.mkdir()
        try:
            yield Kubectl(server.kubeconfig, home)
        finally:
            manager.cancel()
            await asyncio.gather(manager, return_exceptions=True)


async def names(kubectl: Kubectl, kind: str, *selector: str) -> list[str]:
    out = await kubectl.ok("get", kind, *selector, "-o", "name")
    return sorted(out.split())


async def until(kubectl: Kubectl, kind: str, selector: tuple[str, ...], count: int) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_S
    while len(found := await names(kubectl, kind, *selector)) != count:
        if loop.time() > deadline:
            pytest.fail(f"kubectl get {kind} {' '.join(selector)}: {found}, expected {count}")
        await asyncio.sleep(0.2)
    return found


async def test_create_scale_roll_out_and_delete_a_deployment(kubectl: Kubectl) -> None:
    await kubectl.ok("create", "deployment", "web", "--image=busybox:1", "--replicas=3")
    await until(kubectl, "pods", ("-l", "app=web"), 3)
    (first_rs,) = await until(kubectl, "replicasets", ("-l", "app=web"), 1)
    # `kubectl scale` PATCHes deployments/scale, which the apiserver does not serve yet.
    await kubectl.ok("patch", "deployment", "web", "-p", '{"spec":{"replicas":1}}')
    await until(kubectl, "pods", ("-l", "app=web"), 1)
    await kubectl.ok("set", "image", "deployment/web", "busybox=busybox:2")
    await until(kubectl, "replicasets", ("-l", "app=web"), 2)
    history = await kubectl.ok("rollout", "history", "deployment/web")
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["1", "2"]
    await kubectl.ok("delete", "deployment", "web")
    await until(kubectl, "replicasets", ("-l", "app=web"), 0)
    await until(kubectl, "pods", ("-l", "app=web"), 0)
    assert first_rs.startswith("replicaset.apps/web-")


async def test_delete_with_cascade_orphan_leaves_the_replicaset(kubectl: Kubectl) -> None:
    await kubectl.ok("create", "deployment", "keep", "--image=busybox:1", "--replicas=2")
    await until(kubectl, "pods", ("-l", "app=keep"), 2)
    await kubectl.ok("delete", "deployment", "keep", "--cascade=orphan")
    await until(kubectl, "deployments", ("-l", "app=keep"), 0)
    (rs,) = await until(kubectl, "replicasets", ("-l", "app=keep"), 1)
    owners = await kubectl.ok("get", rs, "-o", "jsonpath={.metadata.ownerReferences}")
    assert owners in ("", "[]")
    await until(kubectl, "pods", ("-l", "app=keep"), 2)
