"""Sandbox behaviour every backend must show (CRI-NOTES: state and identity, idempotence)."""

from __future__ import annotations

import re

import pytest

from cri import domain as d
from cri import errors
from cri.client import CRIClient
from tests.contract.scenario import run_pod, sandbox_config

READY, NOTREADY = d.PodSandboxState.SANDBOX_READY, d.PodSandboxState.SANDBOX_NOTREADY


async def test_run_pod_sandbox_gives_a_ready_sandbox_with_a_64_hex_id(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    assert re.fullmatch(r"[0-9a-f]{64}", pod.sandbox_id)
    status = (await cri.pod_sandbox_status(pod.sandbox_id)).status
    assert status is not None and status.state == READY
    assert status.created_at > 10**18  # nanoseconds since the epoch
    await cri.stop_pod_sandbox(pod.sandbox_id)
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_labels_annotations_and_metadata_round_trip(cri: CRIClient) -> None:
    pod = await run_pod(cri, labels={"app": "web"})
    status = (await cri.pod_sandbox_status(pod.sandbox_id)).status
    assert status is not None
    assert dict(status.labels) == dict(pod.config.labels)
    assert dict(status.annotations) == dict(pod.config.annotations)
    assert status.metadata == pod.config.metadata
    await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_a_unique_prefix_addresses_the_sandbox(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    status = (await cri.pod_sandbox_status(pod.sandbox_id[:13])).status
    assert status is not None and status.id == pod.sandbox_id
    await cri.remove_pod_sandbox(pod.sandbox_id[:13])
    assert await cri.list_pod_sandbox(d.PodSandboxFilter(id=pod.sandbox_id)) == []


async def test_a_duplicate_sandbox_name_is_rejected(cri: CRIClient) -> None:
    config = sandbox_config()
    sandbox_id = await cri.run_pod_sandbox(config)
    with pytest.raises(errors.CRIError):
        await cri.run_pod_sandbox(config)
    await cri.remove_pod_sandbox(sandbox_id)
    again = await cri.run_pod_sandbox(config)
    await cri.remove_pod_sandbox(again)


async def test_stop_makes_the_sandbox_notready_and_is_idempotent(cri: CRIClient) -> None:
    pod = await run_pod(cri)
    await cri.stop_pod_sandbox(pod.sandbox_id)
    await cri.stop_pod_sandbox(pod.sandbox_id)
    status = (await cri.pod_sandbox_status(pod.sandbox_id)).status
    assert status is not None and status.state == NOTREADY
    await cri.remove_pod_sandbox(pod.sandbox_id)
    await cri.remove_pod_sandbox(pod.sandbox_id)
    with pytest.raises(errors.NotFound):
        await cri.pod_sandbox_status(pod.sandbox_id)


async def test_list_filters_by_id_state_and_labels(cri: CRIClient) -> None:
    first = await run_pod(cri, labels={"tier": "front"})
    second = await run_pod(cri, labels={"tier": "back"})
    await cri.stop_pod_sandbox(second.sandbox_id)
    mine = {first.sandbox_id, second.sandbox_id}

    def ids(items: list[d.PodSandbox]) -> set[str]:
        return {item.id for item in items} & mine

    assert ids(await cri.list_pod_sandbox()) == mine
    assert ids(await cri.list_pod_sandbox(d.PodSandboxFilter(id=first.sandbox_id[:13]))) == {first.sandbox_id}
    ready = d.PodSandboxFilter(state=d.PodSandboxStateValue(state=READY))
    assert ids(await cri.list_pod_sandbox(ready)) == {first.sandbox_id}
    back = d.PodSandboxFilter(label_selector={"tier": "back"})
    assert ids(await cri.list_pod_sandbox(back)) == {second.sandbox_id}
    both = d.PodSandboxFilter(label_selector={"tier": "back"}, state=d.PodSandboxStateValue(state=READY))
    assert ids(await cri.list_pod_sandbox(both)) == set()
    for pod in (first, second):
        await cri.remove_pod_sandbox(pod.sandbox_id)


async def test_remove_of_a_ready_sandbox_removes_its_containers(cri: CRIClient) -> None:
    from tests.contract.scenario import create

    pod = await run_pod(cri)
    container_id = await create(cri, pod)
    await cri.start_container(container_id)
    await cri.stop_pod_sandbox(pod.sandbox_id)
    await cri.remove_pod_sandbox(pod.sandbox_id)
    with pytest.raises(errors.NotFound):
        await cri.container_status(container_id)
