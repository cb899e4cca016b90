"""CreateContainer replies before conmon + ``runc create`` finish; everything after it copes.

A gated conmon (a wrapper that waits on a FIFO before exec'ing the real conmon) holds a creation
pending for as long as a test needs; a failing one makes the creation fail after the reply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from cri import domain as d
from cri.client import CRIClient
from cri.errors import Internal, NotFound
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, wait_until
from tests.runc.test_leaks import HostCounts, _conmons, host_counts
from tinykube.testbeds.runc_shim import Layout, ShimProcess, remove_everything, serve

pytestmark = pytest.mark.integration
GATE_TIMEOUT = 30.0


class ConmonGate:
    """``conmon`` that blocks until ``open()``; ``waiting()`` lists the blocked wrappers' pids."""

    def __init__(self, directory: Path, *, real_conmon: Path) -> None:
        self.directory = directory
        self.fifo = directory / "gate"
        self.binary = directory / "gated-conmon"
        directory.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.fifo)
        self.binary.write_text(
            "#!/bin/sh\n"
            f'echo $$ > "{directory}/waiting.$$"\n'
            f'read _ < "{self.fifo}"\n'
            f'rm -f "{directory}/waiting.$$"\n'
            f'exec {real_conmon} "$@"\n'
        )
        self.binary.chmod(0o755)

    def waiting(self) -> list[int]:
        return [int(p.read_text()) for p in self.directory.glob("waiting.*") if p.read_text().strip()]

    async def wait_for_one(self) -> int:
        await wait_until(self.waiting, what="a conmon waiting at the gate")
        return self.waiting()[0]

    async def open(self) -> None:
        def release() -> None:
            with open(self.fifo, "w") as gate:
                gate.write("go\n")

        await asyncio.wait_for(asyncio.to_thread(release), GATE_TIMEOUT)


async def _node_counts(layout: Layout) -> HostCounts:
    """Our own leftovers (the shared bridge's links and NAT rules may hold other users' pods)."""
    return dataclasses.replace(await host_counts(layout), links=0, nat_rules=0)


async def _clean_up(shim: ShimProcess, client: CRIClient) -> None:
    """Whatever an assertion left running: a failed test must not leak pods onto the host."""
    try:
        await remove_everything(client)
    except Exception:  # the shim is down or the client closed: restart it to clean up
        await client.close()
        client = await shim.start()
        await remove_everything(client)
    finally:
        await client.close()
        await shim.stop()


async def _shim_process_with_gated_conmon(
    layout: Layout, tmp_path: Path
) -> tuple[ConmonGate, ShimProcess, CRIClient, Callable[[], None]]:
    """A shim process whose conmons wait at the gate; the callable gives later starts the real conmon."""
    gate = ConmonGate(tmp_path / "gate", real_conmon=layout.config.conmon)
    raw = yaml.safe_load(layout.config_file.read_text())
    layout.config_file.write_text(yaml.safe_dump({**raw, "conmon": str(gate.binary)}))
    shim = ShimProcess(layout, tmp_path / "shim.sock")

    def restore_conmon() -> None:
        layout.config_file.write_text(yaml.safe_dump(raw))

    return gate, shim, await shim.start(), restore_conmon


def _failing_conmon(directory: Path) -> Path:
    script = directory / "failing-conmon"
    directory.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\necho 'conmon refused: no such runtime' >&2\nexit 1\n")
    script.chmod(0o755)
    return script


@pytest.fixture
async def gated(layout: Layout, tmp_path: Path) -> AsyncIterator[tuple[CRIClient, RuncRuntime, ConmonGate]]:
    gate = ConmonGate(tmp_path / "gate", real_conmon=layout.config.conmon)
    config = dataclasses.replace(layout.config, conmon=gate.binary)
    async with serve(config, tmp_path / "gated.sock") as (client, runtime):
        try:
            yield client, runtime, gate
        finally:
            while gate.waiting():
                await gate.open()
            await remove_everything(client)


async def _create(client: CRIClient, tmp_path: Path, name: str) -> tuple[str, str]:
    pod = pod_config(name, tmp_path / "logs")
    pod_id = await client.run_pod_sandbox(pod)
    config = container_config("c", "sh", "-c", "echo started; sleep 300")
    return pod_id, await client.create_container(pod_id, config, pod)


async def _status(client: CRIClient, container_id: str) -> d.ContainerStatus:
    status = (await client.container_status(container_id)).status
    assert status is not None
    return status


async def test_create_replies_before_conmon_runs_and_start_waits_for_it(
    gated: tuple[CRIClient, RuncRuntime, ConmonGate], tmp_path: Path
) -> None:
    client, _, gate = gated
    _, container_id = await _create(client, tmp_path, "pending")
    await gate.wait_for_one()
    assert (await _status(client, container_id)).state == d.ContainerState.CONTAINER_CREATED
    listed = await client.list_containers(d.ContainerFilter(id=container_id))
    assert [c.state for c in listed] == [d.ContainerState.CONTAINER_CREATED]

    start = asyncio.create_task(client.start_container(container_id))
    await gate.open()
    await asyncio.wait_for(start, GATE_TIMEOUT)
    assert (await _status(client, container_id)).state == d.ContainerState.CONTAINER_RUNNING
    probe = asyncio.create_task(client.exec_sync(container_id, ["echo", "inside"], exec_timeout=10))
    await gate.wait_for_one()  # ExecSync runs `conmon --exec`: it waits at the gate too
    await gate.open()
    result = await asyncio.wait_for(probe, GATE_TIMEOUT)
    assert (result.exit_code, result.stdout) == (0, b"inside\n")


async def test_remove_of_a_pending_creation_waits_for_it_and_leaves_nothing(
    gated: tuple[CRIClient, RuncRuntime, ConmonGate],
    layout: Layout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, runtime, gate = gated
    settled = runtime.container_manager.creation_settled
    waiting_for: dict[str, asyncio.Event] = {}

    async def observed(object_id: str) -> None:
        if object_id in waiting_for:
            waiting_for[object_id].set()
        await settled(object_id)

    monkeypatch.setattr(runtime.container_manager, "creation_settled", observed)

    async def remove_while_pending(name: str) -> None:
        pod_id, container_id = await _create(client, tmp_path, name)
        await gate.wait_for_one()
        waiting_for[container_id] = asyncio.Event()
        remove = asyncio.create_task(client.remove_container(container_id))
        await asyncio.wait_for(waiting_for[container_id].wait(), GATE_TIMEOUT)
        assert not remove.done(), "RemoveContainer finished while runc create had not run"
        await gate.open()
        await asyncio.wait_for(remove, GATE_TIMEOUT)
        with pytest.raises(NotFound):
            await client.container_status(container_id)
        await client.stop_pod_sandbox(pod_id)
        await client.remove_pod_sandbox(pod_id)

    await remove_while_pending("warm-up")  # the shim's long-lived directories
    before = await _node_counts(layout)
    await remove_while_pending("removed")
    assert await _node_counts(layout) == before


async def test_a_failed_creation_is_reported_by_start_and_status(layout: Layout, tmp_path: Path) -> None:
    config = dataclasses.replace(layout.config, conmon=_failing_conmon(tmp_path / "bin"))
    async with serve(config, tmp_path / "failing.sock") as (client, _):

        async def failing_cycle(name: str) -> None:
            pod_id, container_id = await _create(client, tmp_path, name)
            with pytest.raises(Internal, match="conmon refused: no such runtime"):
                await client.start_container(container_id)
            status = await _status(client, container_id)
            assert (status.state, status.exit_code, status.reason) == (
                d.ContainerState.CONTAINER_EXITED,
                128,
                "StartError",
            )
            assert "conmon refused" in status.message
            assert status.finished_at >= status.created_at
            await client.stop_container(container_id, grace_seconds=0)
            await client.remove_container(container_id)
            await client.remove_pod_sandbox(pod_id)

        try:
            await failing_cycle("warm-up")
            before = await _node_counts(layout)
            await failing_cycle("failing")
            assert await _node_counts(layout) == before
        finally:
            await remove_everything(client)


@pytest.mark.timeout(180)
async def test_a_creation_pending_when_the_shim_is_killed_is_finished_after_restart(
    layout: Layout, tmp_path: Path
) -> None:
    gate, shim, client, restore_conmon = await _shim_process_with_gated_conmon(layout, tmp_path)
    try:
        _, container_id = await _create(client, tmp_path, "crashed")
        wrapper = await gate.wait_for_one()
        await client.close()
        await shim.kill()
        os.kill(wrapper, signal.SIGKILL)  # conmon never ran: no runc state exists
        restore_conmon()

        client = await shim.start()
        assert (await _status(client, container_id)).state == d.ContainerState.CONTAINER_CREATED
        await client.start_container(container_id)
        result = await client.exec_sync(container_id, ["echo", "recovered"], exec_timeout=10)
        assert (result.exit_code, result.stdout) == (0, b"recovered\n")
        log_path = Path((await _status(client, container_id)).log_path)
        await wait_until(lambda: "started" in log_path.read_text(), what="the container's first log line")
        await remove_everything(client)
        assert _conmons(str(layout.config.state_dir)) == 0
        assert not (layout.config.state_dir / "containers" / container_id).exists()
    finally:
        await _clean_up(shim, client)


@pytest.mark.timeout(180)
async def test_a_creation_conmon_finished_while_the_shim_was_down_is_adopted_or_redone(
    layout: Layout, tmp_path: Path
) -> None:
    gate, shim, client, restore_conmon = await _shim_process_with_gated_conmon(layout, tmp_path)
    try:
        _, container_id = await _create(client, tmp_path, "orphaned")
        await gate.wait_for_one()
        await client.close()
        await shim.kill()
        await gate.open()  # conmon runs runc create with nobody left to tell
        runc_state = layout.config.runc_root / container_id / "state.json"
        await wait_until(runc_state.exists, what="runc create to finish under the orphaned conmon")
        restore_conmon()

        client = await shim.start()
        await client.start_container(container_id)
        assert (await _status(client, container_id)).state == d.ContainerState.CONTAINER_RUNNING
        result = await client.exec_sync(container_id, ["echo", "one"], exec_timeout=10)
        assert (result.exit_code, result.stdout) == (0, b"one\n")
        assert _conmons(container_id) == 1
        await remove_everything(client)
        assert _conmons(str(layout.config.state_dir)) == 0
    finally:
        await _clean_up(shim, client)
