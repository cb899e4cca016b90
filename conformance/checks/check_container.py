"""Container lifecycle, attributes, states, timestamps and filters."""

from __future__ import annotations

import time

import pytest

from conformance import images
from conformance.checks.helpers import HEX64, NS_2001
from conformance.workspace import Workspace
from cri import domain as d
from cri.errors import CRIError, NotFound

pytestmark = pytest.mark.conformance
S = d.ContainerState


def _state(state: d.ContainerState) -> d.ContainerStateValue:
    return d.ContainerStateValue(state=state)


async def _ids(ws: Workspace, filter_: d.ContainerFilter) -> set[str]:
    return {c.id for c in await ws.cri.list_containers(filter_)}


async def test_create_returns_full_id(ws: Workspace) -> None:
    """CreateContainer answers a 64-hex id: the kubelet keys container status by it."""
    assert HEX64.fullmatch(await ws.create())


async def test_created_state(ws: Workspace) -> None:
    """A created container is CREATED with created_at set and no started_at: PLEG derives events from it."""
    status = await ws.status(await ws.create())
    assert status.state == S.CONTAINER_CREATED
    assert status.created_at > NS_2001 and status.started_at == 0 and status.finished_at == 0


async def test_running_after_start(ws: Workspace) -> None:
    """StartContainer makes it RUNNING with started_at >= created_at: the kubelet reports startedAt."""
    status = await ws.status(await ws.start())
    assert status.state == S.CONTAINER_RUNNING and status.started_at >= status.created_at > NS_2001


async def test_exited_after_stop(ws: Workspace) -> None:
    """StopContainer makes it EXITED with finished_at >= started_at: the kubelet reports finishedAt."""
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    status = await ws.status(container_id)
    assert status.state == S.CONTAINER_EXITED and status.finished_at >= status.started_at > 0


async def test_stop_twice(ws: Workspace) -> None:
    """StopContainer of an exited container succeeds: the kubelet retries kills."""
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    await ws.cri.stop_container(container_id, grace_seconds=0)
    assert (await ws.status(container_id)).state == S.CONTAINER_EXITED


async def test_stop_created_container(ws: Workspace) -> None:
    """StopContainer of a never-started container succeeds: pods are killed while starting."""
    container_id = await ws.create()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    assert (await ws.status(container_id)).state in (S.CONTAINER_CREATED, S.CONTAINER_EXITED)


async def test_remove_exited(ws: Workspace) -> None:
    """RemoveContainer deletes it: ContainerStatus then answers NOT_FOUND."""
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    await ws.cri.remove_container(container_id)
    with pytest.raises(NotFound):
        await ws.cri.container_status(container_id)


async def test_remove_twice(ws: Workspace) -> None:
    """RemoveContainer of a removed container succeeds: the garbage collector retries."""
    container_id = await ws.create()
    await ws.cri.remove_container(container_id)
    await ws.cri.remove_container(container_id)
    assert container_id not in await _ids(ws, d.ContainerFilter())


async def test_remove_running(ws: Workspace) -> None:
    """RemoveContainer force-removes a running container: nothing may keep running unseen."""
    container_id = await ws.start()
    await ws.cri.remove_container(container_id)
    assert container_id not in await _ids(ws, d.ContainerFilter())


async def test_remove_created(ws: Workspace) -> None:
    """RemoveContainer of a created container removes it: failed starts are cleaned up this way."""
    container_id = await ws.create()
    await ws.cri.remove_container(container_id)
    with pytest.raises(NotFound):
        await ws.cri.container_status(container_id)


async def test_start_twice_fails(ws: Workspace) -> None:
    """Starting a running container is an error: a container runs its process once."""
    container_id = await ws.start()
    with pytest.raises(CRIError):
        await ws.cri.start_container(container_id)
    assert (await ws.status(container_id)).state == S.CONTAINER_RUNNING


async def test_create_in_stopped_sandbox_fails(ws: Workspace) -> None:
    """CreateContainer in a stopped sandbox fails: its namespaces are gone."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    with pytest.raises(CRIError):
        await ws.create(pod)


async def test_create_in_missing_sandbox_fails(ws: Workspace) -> None:
    """CreateContainer in an unknown sandbox fails: the kubelet must learn the sandbox is gone."""
    pod = await ws.run_pod()
    await ws.cri.remove_pod_sandbox(pod.id)
    with pytest.raises(CRIError):
        await ws.create(pod)


async def test_status_metadata(ws: Workspace) -> None:
    """ContainerStatus returns the metadata sent: the kubelet maps containers to specs by name/attempt."""
    config = ws.container_config(name="meta", attempt=2)
    status = await ws.status(await ws.create(config=config))
    assert status.metadata == config.metadata


async def test_status_labels_and_annotations(ws: Workspace) -> None:
    """Labels and annotations come back byte for byte: the kubelet stores the container hash there."""
    config = ws.container_config(labels={"tk/l": "ü ✓"}, annotations={"io.kubernetes.container.hash": "ab12"})
    status = await ws.status(await ws.create(config=config))
    assert status.labels == config.labels and status.annotations == config.annotations


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="names one of the image's tags, not the one requested, when it has several",
    raises=AssertionError,
    match=r"'docker\.io/library/busybox:[\w.]+' in \('docker\.io/library/busybox:1\.36'",
)
async def test_status_image(ws: Workspace) -> None:
    """ContainerStatus names the image as requested: kubectl shows it in the pod's status."""
    status = await ws.status(await ws.create())
    assert status.image is not None and status.image.image in (images.BUSYBOX, "busybox:1.36")


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="image_ref is the repo digest and image_id is unset before 1.7",
    raises=AssertionError,
    match=r"'sha256:[0-9a-f]{64}' in \('docker\.io/library/busybox@sha256:[0-9a-f]{64}', ''\)",
)
async def test_image_ref_is_image_id(ws: Workspace) -> None:
    """ContainerStatus.image_ref is the image id PullImage returned: the kubelet reports imageID by it."""
    image_id = await ws.ensure_image(images.BUSYBOX)
    status = await ws.status(await ws.create())
    assert image_id in (status.image_ref, status.image_id)


async def test_log_path_is_joined(ws: Workspace) -> None:
    """ContainerStatus.log_path = log_directory + log_path: kubectl logs reads exactly that file."""
    pod = await ws.run_pod()
    config = ws.container_config(name="logged", log_path="logged/0.log")
    status = await ws.status(await ws.create(pod, config))
    assert status.log_path == f"{pod.config.log_directory}/logged/0.log"


async def test_status_by_unique_prefix(ws: Workspace) -> None:
    """A unique container id prefix is accepted: users paste crictl's short ids."""
    container_id = await ws.create()
    assert (await ws.status(container_id[:13])).id == container_id


async def test_list_fields(ws: Workspace) -> None:
    """Listed containers carry sandbox id, metadata, image_ref, state and labels: crictl ps shows them."""
    pod = await ws.run_pod()
    container_id = await ws.start(pod)
    [entry] = await ws.cri.list_containers(d.ContainerFilter(id=container_id))
    assert entry.pod_sandbox_id == pod.id and entry.state == S.CONTAINER_RUNNING
    assert entry.metadata is not None and entry.metadata.name == "main"
    assert entry.image_ref and entry.labels["io.kubernetes.container.name"] == "main"


async def test_filter_by_id_prefix(ws: Workspace) -> None:
    """The container id filter accepts a prefix: crictl ps --id takes truncated ids."""
    pod = await ws.run_pod()
    container_id, other = await ws.create(pod, name="one"), await ws.create(pod, name="two")
    assert await _ids(ws, d.ContainerFilter(id=container_id[:13])) == {container_id} != {other}


async def test_filter_by_state(ws: Workspace) -> None:
    """The state filter separates RUNNING from CREATED: crictl ps shows running ones by default."""
    pod = await ws.run_pod()
    running = await ws.start(pod, name="running")
    created = await ws.create(pod, name="created")
    listed = await _ids(ws, d.ContainerFilter(state=_state(S.CONTAINER_RUNNING)))
    assert running in listed and created not in listed
    assert created in await _ids(ws, d.ContainerFilter(state=_state(S.CONTAINER_CREATED)))


async def test_filter_by_exited_state(ws: Workspace) -> None:
    """The EXITED filter finds stopped containers: the garbage collector removes them."""
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    assert container_id in await _ids(ws, d.ContainerFilter(state=_state(S.CONTAINER_EXITED)))


async def test_filter_by_sandbox(ws: Workspace) -> None:
    """The pod_sandbox_id filter returns that pod's containers only: the kubelet lists per pod."""
    first, second = await ws.run_pod(), await ws.run_pod()
    in_first, in_second = await ws.create(first), await ws.create(second)
    listed = await _ids(ws, d.ContainerFilter(pod_sandbox_id=first.id))
    assert in_first in listed and in_second not in listed


async def test_filter_by_label(ws: Workspace) -> None:
    """The label selector matches exactly: crictl ps --label uses it."""
    pod = await ws.run_pod()
    tagged = await ws.create(pod, name="tagged", labels={"tk/pick": "yes"})
    other = await ws.create(pod, name="other", labels={"tk/pick": "no"})
    listed = await _ids(ws, d.ContainerFilter(pod_sandbox_id=pod.id, label_selector={"tk/pick": "yes"}))
    assert listed == {tagged} and other not in listed


async def test_filter_sandbox_and_state_anded(ws: Workspace) -> None:
    """Sandbox and state filters combine: each must match."""
    pod = await ws.run_pod()
    created = await ws.create(pod)
    running = _state(S.CONTAINER_RUNNING)
    assert await _ids(ws, d.ContainerFilter(pod_sandbox_id=pod.id, state=running)) == set()
    assert created in await _ids(ws, d.ContainerFilter(pod_sandbox_id=pod.id))


async def test_duplicate_name_rejected(ws: Workspace) -> None:
    """A second container with the same name and attempt in a pod is rejected: names are reserved."""
    pod = await ws.run_pod()
    await ws.create(pod)
    with pytest.raises(CRIError):
        await ws.create(pod)


async def test_next_attempt_allowed(ws: Workspace) -> None:
    """The same container name with attempt+1 is accepted: restarts create a new attempt."""
    pod = await ws.run_pod()
    first = await ws.create(pod, attempt=0)
    second = await ws.create(pod, attempt=1)
    assert first != second


async def test_name_reusable_after_remove(ws: Workspace) -> None:
    """After RemoveContainer its name is free again: the kubelet recreates containers by name."""
    pod = await ws.run_pod()
    first = await ws.create(pod)
    await ws.cri.remove_container(first)
    assert await ws.create(pod) != first


async def test_created_at_near_now(ws: Workspace) -> None:
    """created_at is nanoseconds near the wall clock: the kubelet computes ages from it."""
    before = time.time_ns()
    status = await ws.status(await ws.create())
    assert abs(status.created_at - before) < 300 * 10**9


@pytest.mark.needs("processes")
async def test_exit_zero_completed(ws: Workspace) -> None:
    """A process exiting 0 gives EXITED, exit_code 0, reason Completed: kubectl shows Completed."""
    status = await ws.run_to_exit(command=("true",))
    assert (status.exit_code, status.reason) == (0, "Completed")


@pytest.mark.needs("processes")
async def test_exit_nonzero_error(ws: Workspace) -> None:
    """A process exiting 3 gives exit_code 3, reason Error: restart policies read both."""
    status = await ws.run_to_exit(command=("sh", "-c", "exit 3"))
    assert (status.exit_code, status.reason) == (3, "Error")


@pytest.mark.needs("processes")
@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="stamps started_at after task start: a process exiting at once finishes first",
    raises=AssertionError,
    match=r"^assert \(?\d+ >= \d+",
    intermittent=True,
)
async def test_finished_after_started(ws: Workspace) -> None:
    """An exited container has finished_at >= started_at > 0: kubectl computes run time from them."""
    status = await ws.run_to_exit(command=("true",))
    assert status.finished_at >= status.started_at > NS_2001


@pytest.mark.needs("processes")
async def test_stop_kills_at_once_with_zero_timeout(ws: Workspace) -> None:
    """StopContainer(timeout=0) kills with SIGKILL: exit code 137, as force deletion expects."""
    container_id = await ws.start(command=("sh", "-c", "trap '' TERM; sleep 3600 & wait"))
    await ws.cri.stop_container(container_id, grace_seconds=0)
    assert (await ws.status(container_id)).exit_code == 137


@pytest.mark.needs("processes")
async def test_stop_sends_term_first(ws: Workspace) -> None:
    """StopContainer with a grace period sends SIGTERM first: apps shut down cleanly on it."""
    script = "trap 'exit 42' TERM; sleep 3600 & wait"
    container_id = await ws.start(command=("sh", "-c", script))
    await ws.cri.stop_container(container_id, grace_seconds=30)
    assert (await ws.status(container_id)).exit_code == 42


@pytest.mark.needs("processes")
async def test_oom_killed(ws: Workspace) -> None:
    """A container over its memory limit is OOMKilled (reason OOMKilled): kubectl shows that."""
    resources = d.LinuxContainerResources(memory_limit_in_bytes=16 * 1024 * 1024)
    config = ws.container_config(
        command=("sh", "-c", "head -c 200m /dev/zero | tail"),
        linux=d.LinuxContainerConfig(resources=resources),
    )
    status = await ws.wait_exited(await ws.start(config=config), timeout=60)
    assert status.reason == "OOMKilled" and status.exit_code == 137


@pytest.mark.needs("processes")
async def test_envs(ws: Workspace) -> None:
    """Envs reach the process: the kubelet passes env vars and service links this way."""
    from conformance.checks.helpers import sh

    container_id = await ws.start(envs={"TK_ONE": "1", "TK_SPACED": "a b"})
    assert await sh(ws.cri, container_id, 'echo "$TK_ONE|$TK_SPACED"') == "1|a b"


@pytest.mark.needs("processes")
async def test_working_dir(ws: Workspace) -> None:
    """working_dir is the process's cwd: pods set workingDir."""
    from conformance.checks.helpers import sh

    container_id = await ws.start(working_dir="/tmp")
    assert await sh(ws.cri, container_id, "pwd") == "/tmp"


@pytest.mark.needs("processes")
async def test_args_follow_command(ws: Workspace) -> None:
    """args are appended to command: pods set command and args separately."""
    config = ws.container_config(command=("sh", "-c"), args=("exit 7",))
    status = await ws.wait_exited(await ws.start(config=config))
    assert status.exit_code == 7


@pytest.mark.needs("processes")
async def test_image_entrypoint_used(ws: Workspace) -> None:
    """Without command the image's entrypoint runs: most pods rely on the image default."""
    from conformance.checks.helpers import sh

    container_id = await ws.start(image=images.WEB, command=())
    assert "httpd" in await sh(ws.cri, container_id, "cat /proc/1/cmdline | tr '\\0' ' '")


@pytest.mark.needs("processes")
async def test_running_container_keeps_running(ws: Workspace) -> None:
    """A long-running process stays RUNNING between status calls: no spurious exits."""
    from conformance.checks.helpers import sh

    container_id = await ws.start()
    assert await sh(ws.cri, container_id, "echo alive") == "alive"
    assert (await ws.status(container_id)).state == S.CONTAINER_RUNNING
