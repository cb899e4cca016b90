"""`tinykube controller-manager`: a kubeconfig problem is one line; serving, it leads and rolls out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.client.fake import FakeApi
from api.client.kubeconfig import ClientConfig
from api.client.resources import DEPLOYMENTS, LEASES
from tests.client.fake_http import serving
from tests.client.polling import eventually
from tests.controllers.test_deployment import deployment
from tinykube.commands import controller_manager
from tinykube.commands.controller_manager import ControllerManagerConfig


def test_an_unreadable_kubeconfig_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = controller_manager.main(["--kubeconfig", str(tmp_path / "absent"), "--health-port", "0"])
    assert status == 2
    expected = f"kubeconfig {tmp_path / 'absent'}: cannot be read: No such file or directory"
    assert capsys.readouterr().err.strip().splitlines() == [f"tinykube controller-manager: {expected}"]


async def test_it_takes_the_lease_reconciles_and_releases_the_lease_when_stopped() -> None:
    api = FakeApi()
    async with serving(api) as client:
        config = ControllerManagerConfig(
            client=client,
            leader_elect=True,
            identity="cm-1",
            health_port=0,
            replicaset_workers=2,
            deployment_workers=2,
        )
        serving_task = asyncio.ensure_future(controller_manager.serve(config))
        await api.create(DEPLOYMENTS, deployment("web", 2, "busybox"))
        await eventually(lambda: api.requests.count(("create", "pods")) == 2, within_s=10)
        lease = await api.get(LEASES, "kube-controller-manager", namespace="kube-system")
        assert lease["spec"]["holderIdentity"] == "cm-1"
        serving_task.cancel()
        await eventually(serving_task.done)
    lease = await api.get(LEASES, "kube-controller-manager", namespace="kube-system")
    assert lease["spec"]["holderIdentity"] == ""


async def serve_once(api: FakeApi, client: ClientConfig, identity: str, replicasets_then: int) -> None:
    config = ControllerManagerConfig(
        client=client,
        leader_elect=False,
        identity=identity,
        health_port=0,
        replicaset_workers=1,
        deployment_workers=1,
    )
    serving_task = asyncio.ensure_future(controller_manager.serve(config))
    await api.create(DEPLOYMENTS, deployment(identity, 1, "busybox"))
    await eventually(lambda: api.requests.count(("create", "replicasets")) == replicasets_then)
    serving_task.cancel()
    await eventually(serving_task.done)
    assert serving_task.cancelled()


async def test_it_can_be_served_twice_in_one_process() -> None:
    api = FakeApi()
    async with serving(api) as client:
        await serve_once(api, client, "first", 1)
        await serve_once(api, client, "second", 2)
