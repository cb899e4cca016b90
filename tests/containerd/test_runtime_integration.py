"""The containerd shim's RuntimeService: pods and containers live in containerd, their output lands
in the CRI log, their exits are reported, a restarted shim finds them all again, and removing them
leaves nothing in containerd or on the host."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cri import domain as d
from shims.containerd.client import Client
from shims.containerd.config import ContainerdShimConfig
from shims.containerd.images import ContainerdImages
from shims.containerd.recovery import recover
from shims.containerd.runtime import ContainerdRuntime
from tests.containerd.polling import until

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]

BUSYBOX = "busybox:1.36"
EXAMPLES = Path(__file__).parents[2] / "shims" / "containerd" / "examples"
EXITED = d.ContainerState.CONTAINER_EXITED
RUNNING = d.ContainerState.CONTAINER_RUNNING


@pytest.fixture
def config(client: Client) -> ContainerdShimConfig:
    return ContainerdShimConfig(
        namespace=client.namespace,
        state_dir=Path(f"/run/tinykube/containerd-test-{secrets.token_hex(4)}"),
        cni_conf_dir=EXAMPLES,
        cgroup_parent=f"/{client.namespace}",
    )


@contextlib.asynccontextmanager
async def serving(
    config: ContainerdShimConfig, client: Client, images: ContainerdImages
) -> AsyncIterator[ContainerdRuntime]:
    runtime = ContainerdRuntime(config, client, images)
    await recover(runtime)
    supervised = asyncio.create_task(runtime.run())
    try:
        await asyncio.wait_for(runtime.subscribed.wait(), 30)
        yield runtime
    finally:
        supervised.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervised


@pytest.fixture
async def runtime(
    config: ContainerdShimConfig, client: Client, images: ContainerdImages
) -> AsyncIterator[ContainerdRuntime]:
    await images.pull_image(d.ImageSpec(image=BUSYBOX), None, None)
    try:
        async with serving(config, client, images) as opened:
            yield opened
    finally:
        async with serving(config, client, images) as survivor:  # removes what a failed test left
            for sandbox in list(survivor.sandboxes):
                await survivor.remove_pod_sandbox(sandbox)
        shutil.rmtree(config.state_dir, ignore_errors=True)


def pod_config(name: str, log_directory: Path) -> d.PodSandboxConfig:
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=name, namespace="default", uid=f"uid-{name}"),
        log_directory=str(log_directory),
        linux=d.LinuxPodSandboxConfig(),
    )


def container_config(name: str, script: str) -> d.ContainerConfig:
    return d.ContainerConfig(
        metadata=d.ContainerMetadata(name=name),
        image=d.ImageSpec(image=BUSYBOX),
        command=("sh", "-c", script),
        log_path=f"{name}.log",
    )


async def started(
    runtime: ContainerdRuntime, pod: d.PodSandboxConfig, name: str, script: str
) -> tuple[str, str]:
    sandbox_id = await runtime.run_pod_sandbox(pod, runtime_handler="")
    container_id = await runtime.create_container(sandbox_id, container_config(name, script), pod)
    await runtime.start_container(container_id)
    return sandbox_id, container_id


async def state_of(runtime: ContainerdRuntime, container_id: str) -> d.ContainerStatus:
    status = (await runtime.container_status(container_id, verbose=False)).status
    assert status is not None
    return status


def mounted_under(directory: Path) -> list[str]:
    return [line for line in Path("/proc/mounts").read_text().splitlines() if str(directory) in line]


async def test_a_container_runs_logs_exits_and_goes_without_a_trace(
    runtime: ContainerdRuntime, client: Client, config: ContainerdShimConfig, tmp_path: Path
) -> None:
    pod = pod_config("one", tmp_path / "logs")
    sandbox_id, container_id = await started(runtime, pod, "c", "echo out; echo err >&2; sleep 30; exit 3")
    sandbox = (await runtime.pod_sandbox_status(sandbox_id, verbose=False)).status
    assert (
        sandbox is not None
        and sandbox.state == d.PodSandboxState.SANDBOX_READY
        and sandbox.network is not None
    )
    assert sandbox.network.ip.startswith("10.212.")
    assert (await state_of(runtime, container_id)).state == RUNNING
    result = await runtime.exec_sync(container_id, ("sh", "-c", "echo in-pod; hostname"), timeout=10)
    assert result.exit_code == 0 and result.stdout.startswith(b"in-pod\n")

    log_file = tmp_path / "logs" / "c.log"
    await until(lambda: log_file.exists() and "err" in log_file.read_text())
    lines = log_file.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["stdout F out", "stderr F err"]

    await runtime.stop_container(container_id, timeout=0)
    status = await state_of(runtime, container_id)
    assert status.state == EXITED and status.exit_code == 137

    await runtime.remove_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)  # removing twice is fine
    assert await runtime.list_containers(None) == [] and await runtime.list_pod_sandbox(None) == []
    assert await client.containers.list() == [] and await client.tasks.list() == []
    assert mounted_under(config.state_dir) == []
    assert list((config.state_dir / "fifos").iterdir()) == []


async def test_an_exit_is_reported_with_its_code_as_an_event(
    runtime: ContainerdRuntime, tmp_path: Path
) -> None:
    events = runtime.container_events()
    _, container_id = await started(runtime, pod_config("two", tmp_path), "c", "exit 7")
    stopped = d.ContainerEventType.CONTAINER_STOPPED_EVENT
    async with asyncio.timeout(10):
        async for event in events:
            if event.container_id == container_id and event.container_event_type == stopped:
                break
    status = await state_of(runtime, container_id)
    assert (status.state, status.exit_code, status.reason) == (EXITED, 7, "Error")


async def test_a_restarted_shim_finds_every_pod_and_the_exits_it_missed(
    config: ContainerdShimConfig,
    client: Client,
    images: ContainerdImages,
    runtime: ContainerdRuntime,
    tmp_path: Path,
) -> None:
    pod = pod_config("three", tmp_path / "logs")
    sandbox_id, lasting = await started(runtime, pod, "lasting", "sleep 60")
    ending = await runtime.create_container(sandbox_id, container_config("ending", "sleep 60"), pod)
    await runtime.start_container(ending)
    listed = await runtime.list_containers(None), await runtime.list_pod_sandbox(None)
    infra_pid = (await client.tasks.get(sandbox_id)).pid

    await client.tasks.kill(ending, signal.SIGKILL)  # while the restarted shim below was not up
    await client.tasks.wait(ending)
    async with serving(config, client, images) as restarted:
        containers, sandboxes = await restarted.list_containers(None), await restarted.list_pod_sandbox(None)
        assert sandboxes == listed[1]
        assert {c.id: c.state for c in containers} == {lasting: RUNNING, ending: EXITED}
        assert [c.id for c in containers if c.state == RUNNING] == [
            c.id for c in listed[0] if c.id == lasting
        ]
        ended = await state_of(restarted, ending)
        assert (ended.state, ended.exit_code) == (EXITED, 137)
        assert (await client.tasks.get(sandbox_id)).pid == infra_pid  # nothing was restarted
        await restarted.remove_pod_sandbox(sandbox_id)
    assert await client.containers.list() == []
