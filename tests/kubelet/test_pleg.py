"""The PLEG's view of the runtime: container events update a pod at once, without a relist, and a
relist whose lists predate an event does not roll that pod back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cri import domain as d
from cri.errors import Unimplemented
from kubelet import labels as lbl
from kubelet.pleg import PLEG

from .fake_cri import FakeCRI, serve_fake, wait_until

UID = "uid-1"
NEVER_S = 3600.0


@pytest.fixture
async def cri(tmp_path: Path) -> AsyncIterator[FakeCRI]:
    async with serve_fake(tmp_path) as served:
        yield served


def _sandbox_config(uid: str = UID) -> d.PodSandboxConfig:
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=f"web-{uid}", uid=uid, namespace="default"),
        labels={lbl.POD_UID: uid},
    )


async def _create(cri: FakeCRI, sandbox_id: str, uid: str = UID) -> str:
    config = d.ContainerConfig(
        metadata=d.ContainerMetadata(name="app"),
        image=d.ImageSpec(image="busybox:1.36"),
        labels={lbl.POD_UID: uid, lbl.CONTAINER_NAME: "app"},
    )
    return await cri.client.create_container(sandbox_id, config, _sandbox_config(uid))


def _state(pleg: PLEG, uid: str = UID) -> d.ContainerState | None:
    container = pleg.snapshot.pod(uid).latest("app")
    return container.state if container else None


@contextlib.asynccontextmanager
async def running_pleg(pleg: PLEG) -> AsyncIterator[None]:
    task = asyncio.create_task(pleg.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_container_event_updates_the_pod_without_a_relist(
    cri: FakeCRI, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed: list[str] = []
    pleg = PLEG(cri.client, on_change=changed.append, relist_period_s=NEVER_S)
    sandbox_id = await cri.client.run_pod_sandbox(_sandbox_config())
    async with running_pleg(pleg):
        await wait_until("the first relist", lambda: pleg.relisted.is_set())
        lists = 0
        list_containers = cri.client.list_containers

        async def counted(*args: Any, **kwargs: Any) -> list[d.Container]:
            nonlocal lists
            lists += 1
            return await list_containers(*args, **kwargs)

        monkeypatch.setattr(cri.client, "list_containers", counted)
        changed.clear()
        container_id = await _create(cri, sandbox_id)
        await cri.client.start_container(container_id)
        await wait_until(
            "the container running in the PLEG's view",
            lambda: _state(pleg) == d.ContainerState.CONTAINER_RUNNING,
        )
        assert pleg.events_supported is True
        assert UID in changed
        assert lists == 0
        cri.runtime.exit_container(container_id, 3)
        await wait_until(
            "the exit in the PLEG's view", lambda: _state(pleg) == d.ContainerState.CONTAINER_EXITED
        )
        latest = pleg.snapshot.pod(UID).latest("app")
        assert latest is not None and latest.exit_code == 3
        assert lists == 0


async def test_a_relist_keeps_an_event_newer_than_its_lists(
    cri: FakeCRI, monkeypatch: pytest.MonkeyPatch
) -> None:
    pleg = PLEG(cri.client, on_change=lambda _: None, relist_period_s=NEVER_S)
    sandbox_id = await cri.client.run_pod_sandbox(_sandbox_config())
    container_id = await _create(cri, sandbox_id)
    async with running_pleg(pleg):
        await wait_until("the first relist", lambda: pleg.relisted.is_set())
        assert _state(pleg) == d.ContainerState.CONTAINER_CREATED
        listed, release = _hold_container_lists(cri, monkeypatch)
        relist = asyncio.create_task(pleg.relist())
        await asyncio.wait_for(listed.wait(), 20)
        await cri.client.start_container(container_id)
        await wait_until(
            "the start event applied", lambda: _state(pleg) == d.ContainerState.CONTAINER_RUNNING
        )
        release.set()
        await asyncio.wait_for(relist, 20)
        assert _state(pleg) == d.ContainerState.CONTAINER_RUNNING


async def test_without_container_events_the_relist_still_sees_changes(cri: FakeCRI) -> None:
    cri.runtime.faults.fail_always("container_events", Unimplemented("no events here"))
    changed: list[str] = []
    pleg = PLEG(cri.client, on_change=changed.append, relist_period_s=0.05)
    sandbox_id = await cri.client.run_pod_sandbox(_sandbox_config())
    async with running_pleg(pleg):
        await wait_until("events found unsupported", lambda: pleg.events_supported is False)
        container_id = await _create(cri, sandbox_id)
        await cri.client.start_container(container_id)
        await wait_until(
            "the relist seeing the container run", lambda: _state(pleg) == d.ContainerState.CONTAINER_RUNNING
        )
        assert UID in changed


async def test_relisting_one_pod_reads_that_pod_only(cri: FakeCRI) -> None:
    cri.runtime.faults.fail_always("container_events", Unimplemented("no events here"))
    changed: list[str] = []
    pleg = PLEG(cri.client, on_change=changed.append, relist_period_s=NEVER_S)
    await pleg.relist()
    for uid in ("uid-a", "uid-b"):
        sandbox_id = await cri.client.run_pod_sandbox(_sandbox_config(uid))
        await cri.client.start_container(await _create(cri, sandbox_id, uid))
    pod = await pleg.relist_pod("uid-a")
    running = d.ContainerState.CONTAINER_RUNNING
    assert pod.ready_sandbox() is not None and [c.state for c in pod.containers] == [running]
    assert _state(pleg, "uid-a") == running
    assert "uid-b" not in pleg.snapshot.pods
    assert changed == ["uid-a"]
    await pleg.relist()
    assert _state(pleg, "uid-b") == running
    assert changed == ["uid-a", "uid-b"]


async def test_a_pod_relist_that_read_before_an_event_keeps_the_event_view(
    cri: FakeCRI, monkeypatch: pytest.MonkeyPatch
) -> None:
    pleg = PLEG(cri.client, on_change=lambda _: None, relist_period_s=NEVER_S)
    sandbox_id = await cri.client.run_pod_sandbox(_sandbox_config())
    container_id = await _create(cri, sandbox_id)
    async with running_pleg(pleg):
        await wait_until("the first relist", lambda: pleg.relisted.is_set())
        listed, release = _hold_container_lists(cri, monkeypatch)
        relist = asyncio.create_task(pleg.relist_pod(UID))
        await asyncio.wait_for(listed.wait(), 20)
        await cri.client.start_container(container_id)
        await wait_until(
            "the start event applied", lambda: _state(pleg) == d.ContainerState.CONTAINER_RUNNING
        )
        release.set()
        pod = await asyncio.wait_for(relist, 20)
        assert _state(pleg) == d.ContainerState.CONTAINER_RUNNING
        assert [c.state for c in pod.containers] == [d.ContainerState.CONTAINER_RUNNING]


def _hold_container_lists(
    cri: FakeCRI, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """ListContainers answers are held back: ``listed`` is set once one is read, sent on ``release``."""
    listed, release = asyncio.Event(), asyncio.Event()
    list_containers = cri.client.list_containers

    async def stale(*args: Any, **kwargs: Any) -> list[d.Container]:
        result = await list_containers(*args, **kwargs)
        listed.set()
        await release.wait()
        return result

    monkeypatch.setattr(cri.client, "list_containers", stale)
    return listed, release
