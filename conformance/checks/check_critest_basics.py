"""critest's runtime-info, PodSandbox, Container, log, volume, image and idempotence specs, with
critest's request shapes (``critest_requests``); CRITEST.md maps every spec to its checks."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import images
from conformance.checks import critest_requests as ct
from conformance.checks.helpers import HEX64
from conformance.pod import LOG_ROOT
from conformance.workspace import Workspace, wait_for
from cri import domain as d
from cri.errors import CRIError, DeadlineExceeded, NotFound, Unimplemented, Unknown

pytestmark = pytest.mark.conformance
S = d.ContainerState
CONTAINERD_STOP = "answers NOT_FOUND for an unknown id instead of succeeding"


async def _listed(ws: Workspace, container_id: str) -> bool:
    return any(c.id == container_id for c in await ws.cri.list_containers(d.ContainerFilter(id=container_id)))


async def _sandbox_listed(ws: Workspace, sandbox_id: str) -> bool:
    return any(p.id == sandbox_id for p in await ws.cri.list_pod_sandbox(d.PodSandboxFilter(id=sandbox_id)))


async def test_version_fields(ws: Workspace) -> None:
    """critest 'runtime should return version info': Version fills all four fields; kubelet logs them."""
    version = await ws.cri.version()
    assert (
        version.version and version.runtime_name and version.runtime_version and version.runtime_api_version
    )


async def test_runtime_conditions(ws: Workspace) -> None:
    """critest 'runtime should return runtime conditions': RuntimeReady and NetworkReady are true."""
    status = (await ws.cri.status()).status
    assert status is not None
    ready = {c.type for c in status.conditions if c.status}
    assert {"RuntimeReady", "NetworkReady"} <= ready


async def test_run_default_pod(ws: Workspace) -> None:
    """critest 'running PodSandbox': a pod with no namespace options or cgroup parent runs READY and lists."""
    pod = await ct.run_pod(ws, prefix="PodSandbox-for-create-test-")
    assert (await ws.sandbox_status(pod.id)).state == d.PodSandboxState.SANDBOX_READY
    assert await _sandbox_listed(ws, pod.id)


async def test_stop_default_pod(ws: Workspace) -> None:
    """critest 'stopping PodSandbox': StopPodSandbox leaves the critest-shaped pod NOTREADY."""
    pod = await ct.run_pod(ws, prefix="PodSandbox-for-test-stop-")
    await ws.cri.stop_pod_sandbox(pod.id)
    assert (await ws.sandbox_status(pod.id)).state == d.PodSandboxState.SANDBOX_NOTREADY


async def test_remove_default_pod(ws: Workspace) -> None:
    """critest 'removing PodSandbox': after stop and remove the pod is no longer listed."""
    pod = await ct.run_pod(ws, prefix="PodSandbox-for-test-remove-")
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    assert not await _sandbox_listed(ws, pod.id)


async def test_pod_attributes_preserved(ws: Workspace) -> None:
    """critest 'preserving PodSandbox attributes': status and list return metadata, labels, annotations."""
    config = ct.pod_config(ws, prefix="PodSandbox-with-attributes-", annotations={"abc": "def"})
    meta = config.metadata
    assert meta is not None
    labels = {
        "foo": "bar",
        "io.kubernetes.pod.name": meta.name,
        "io.kubernetes.pod.namespace": meta.namespace,
        "io.kubernetes.pod.uid": meta.uid,
    }
    config = dataclasses.replace(config, labels={**config.labels, **labels})
    pod = await ws.run_pod(config)
    status = await ws.sandbox_status(pod.id)
    [listed] = await ws.cri.list_pod_sandbox(d.PodSandboxFilter(id=pod.id))
    for item in (status, listed):
        assert item.metadata == meta
        assert labels.items() <= dict(item.labels).items()
        assert {"abc": "def"}.items() <= dict(item.annotations).items()


@pytest.mark.needs("processes")
async def test_long_pod_name_without_hostname(ws: Workspace) -> None:
    """critest names pods <prefix><UUID> (68+ chars) and sets no hostname: they run, with a valid hostname."""
    pod = await ct.run_pod(ws)
    assert pod.config.metadata is not None and len(pod.config.metadata.name) > 64
    result = await ws.cri.exec_sync(await ct.start(ws, pod), ["hostname"], exec_timeout=ct.EXEC_TIMEOUT)
    assert result.exit_code == 0 and 0 < len(result.stdout.strip()) <= 64


@pytest.mark.needs("processes")
@pytest.mark.parametrize(("sysctl", "value"), [("kernel.shm_rmid_forced", "1"), ("fs.mqueue.msg_max", "100")])
async def test_pod_sysctls(ws: Workspace, sysctl: str, value: str) -> None:
    """critest 'should support safe/unsafe sysctls': pod sysctls reach /proc/sys of its containers."""
    linux = d.LinuxPodSandboxConfig(sysctls={sysctl: value})
    pod = await ct.run_pod(ws, prefix="pod-sandbox-with-sysctls-", linux=linux)
    container_id = await ct.start(ws, pod)
    path = "/proc/sys/" + sysctl.replace(".", "/")
    result = await ws.cri.exec_sync(container_id, ["cat", path], exec_timeout=ct.EXEC_TIMEOUT)
    assert (result.exit_code, result.stdout.decode().strip()) == (0, value)


async def test_create_default_container(ws: Workspace) -> None:
    """critest 'creating container': a container with an empty linux config is created and listed."""
    container_id = await ws.create(await ct.run_pod(ws), ct.container_config(ws))
    assert HEX64.fullmatch(container_id) and await _listed(ws, container_id)


@pytest.mark.needs("processes")
async def test_start_default_container(ws: Workspace) -> None:
    """critest 'starting container': `top` in a pod sharing its pid namespace becomes RUNNING."""
    await ct.start(ws, await ct.run_pod(ws))


@pytest.mark.needs("processes")
async def test_stop_default_container(ws: Workspace) -> None:
    """critest 'stopping container': StopContainer(60) of `top` returns and leaves it EXITED."""
    container_id = await ct.start(ws, await ct.run_pod(ws))
    await ws.cri.stop_container(container_id, grace_seconds=ct.STOP_TIMEOUT)
    assert (await ws.status(container_id)).state == S.CONTAINER_EXITED


@pytest.mark.needs("processes")
@pytest.mark.parametrize("phase", ["created", "running", "stopped"])
async def test_remove_pause_container(ws: Workspace, phase: str) -> None:
    """critest 'removing created/running/stopped container': RemoveContainer unlists it in each state."""
    pod = await ct.run_pod(ws)
    container_id = await ws.create(pod, ct.container_config(ws, command=ct.PAUSE))
    if phase != "created":
        await ws.cri.start_container(container_id)
        await ct.wait_running(ws, container_id)
    if phase == "stopped":
        await ws.cri.stop_container(container_id, grace_seconds=ct.STOP_TIMEOUT)
    await ws.cri.remove_container(container_id)
    assert not await _listed(ws, container_id)


@pytest.mark.needs("processes")
async def test_exec_sync_echo(ws: Workspace) -> None:
    """critest 'execSync': `echo -n hello` answers exactly b"hello" and an empty stderr."""
    container_id = await ct.start(ws, await ct.run_pod(ws))
    result = await ws.cri.exec_sync(container_id, ["echo", "-n", "hello"], exec_timeout=ct.EXEC_TIMEOUT)
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"hello", b"")


@pytest.mark.needs("processes")
async def test_exec_sync_timeout_kills(ws: Workspace) -> None:
    """critest 'execSync with timeout': `sleep 4321` with timeout 1 errors and leaves no sleep behind.

    critest looks with `pgrep sleep`; the seeded busybox has no pgrep, so `pidof sleep` looks instead.
    """
    container_id = await ct.start(ws, await ct.run_pod(ws))
    with pytest.raises(CRIError):
        await ws.cri.exec_sync(container_id, ["sleep", "4321"], exec_timeout=1)
    result = await ws.cri.exec_sync(container_id, ["sh", "-c", "pidof sleep || true"], exec_timeout=30)
    assert (result.stdout.strip(), result.stderr) == (b"", b"")


@pytest.mark.needs("processes")
async def test_container_stats_by_id(ws: Workspace) -> None:
    """critest 'listing container stats': ContainerStats names the container and stamps cpu and memory."""
    container_id = await ct.start(ws, await ct.run_pod(ws), prefix="container-for-stats-")
    stats = await ws.cri.container_stats(container_id)
    assert stats.attributes is not None and stats.attributes.id == container_id
    assert stats.attributes.metadata is not None
    assert stats.attributes.metadata.name.startswith("container-for-stats-")
    assert (
        stats.cpu is not None and stats.cpu.timestamp and stats.memory is not None and stats.memory.timestamp
    )


@pytest.mark.needs("processes")
async def test_list_stats_without_filter(ws: Workspace) -> None:
    """critest 'stats for started/three created containers when filter is nil': all are listed."""
    pod = await ct.run_pod(ws)
    ids = [await ct.start(ws, pod) for _ in range(3)]
    listed = {s.attributes.id for s in await ws.cri.list_container_stats(None) if s.attributes}
    assert set(ids) <= listed


@pytest.mark.needs("processes")
async def test_list_stats_by_labels(ws: Workspace) -> None:
    """critest 'stats for containers filtered by labels': foo=bar selects it, foo=baz does not."""
    container_id = await ct.start(ws, await ct.run_pod(ws), labels={"foo": "bar"})

    async def listed(value: str) -> set[str]:
        found = await ws.cri.list_container_stats(d.ContainerStatsFilter(label_selector={"foo": value}))
        return {s.attributes.id for s in found if s.attributes}

    assert container_id in await listed("bar") and container_id not in await listed("baz")


@pytest.fixture
def host_path() -> Iterator[Path]:
    """createHostPath: a temporary host directory holding testVolume.file."""
    path = Path(LOG_ROOT).parent / "critest-volumes" / uuid.uuid4().hex[:12]
    path.mkdir(parents=True)
    (path / "testVolume.file").touch()
    yield path
    shutil.rmtree(path, ignore_errors=True)
    Path(f"{path}-symlink").unlink(missing_ok=True)


@pytest.mark.needs("processes")
@pytest.mark.parametrize("through_symlink", [False, True], ids=["dir", "symlink"])
async def test_volume_at_same_path(ws: Workspace, host_path: Path, through_symlink: bool) -> None:
    """critest 'starting container with volume [when host path is a symlink]': `ls -A` lists the file."""
    source = host_path
    if through_symlink:
        source = Path(f"{host_path}-symlink")
        os.symlink(host_path, source)
    mount = d.Mount(host_path=str(source), container_path=str(source), selinux_relabel=True)
    container_id = await ct.start(ws, await ct.run_pod(ws), command=ct.PAUSE, mounts=(mount,))
    result = await ws.cri.exec_sync(container_id, ["ls", "-A", str(source)], exec_timeout=ct.EXEC_TIMEOUT)
    assert (result.exit_code, result.stderr) == (0, b"") and b"testVolume.file" in result.stdout


@pytest.mark.needs("processes", "logs")
async def test_log_of_exited_container(ws: Workspace) -> None:
    """critest 'starting container with log': `echo hello World` logs a parseable stdout record."""
    pod = await ct.run_pod(ws, prefix=ct.LOG_POD, log_directory=ct.log_directory())
    name = "container-with-log-test-" + uuid.uuid4().hex
    config = ct.container_config(ws, name=name, command=("echo", ct.DEFAULT_LOG), log_path=name + ".log")
    await ws.wait_exited(await ws.start(pod, config), timeout=60)
    records = await ct.log_records(pod, name + ".log")
    assert ("stdout", ct.DEFAULT_LOG + "\n") in {(r.stream, r.log) for r in records}


@pytest.mark.needs("processes", "logs")
async def test_reopen_log(ws: Workspace) -> None:
    """critest 'reopening container log': a new file exists when ReopenContainerLog returns; the old stops."""
    pod = await ct.run_pod(ws, prefix=ct.LOG_POD, log_directory=ct.log_directory())
    name = "container-reopen-log-test-" + uuid.uuid4().hex
    loop = ("sh", "-c", f"while true; do echo {ct.DEFAULT_LOG}; sleep 1; done")
    container_id = await ws.start(
        pod, ct.container_config(ws, name=name, command=loop, log_path=name + ".log")
    )
    await ct.log_records(pod, name + ".log")
    directory = Path(pod.config.log_directory)
    await asyncio.to_thread(os.rename, directory / f"{name}.log", directory / f"{name}.log.new")
    await ws.cri.reopen_container_log(container_id)
    assert (directory / f"{name}.log").exists(), "ReopenContainerLog returned before creating the file"
    old_length = len(ct.read_log(pod, f"{name}.log.new"))

    async def two_new_records() -> bool | None:
        return len(ct.read_log(pod, f"{name}.log")) >= 2 or None

    await wait_for("two records in the reopened log", two_new_records, timeout=60)
    assert len(ct.read_log(pod, f"{name}.log.new")) == old_length


async def test_pull_with_tag_repo_tags(ws: Workspace) -> None:
    """critest 'public image with tag': the pulled image's repo_tags are exactly the reference."""
    await ws.cri.pull_image(images.USER_UID, timeout=120)
    image = (await ws.cri.image_status(images.USER_UID)).image
    assert image is not None and image.id and image.size > 0
    assert tuple(image.repo_tags) == (images.USER_UID,)


async def test_pull_without_tag_repo_tags(ws: Workspace) -> None:
    """critest 'public image without tag': a reference without tag is stored as <name>:latest."""
    untagged = images.USER_NAME.removesuffix(":latest")
    await ws.cri.pull_image(untagged, timeout=120)
    image = (await ws.cri.image_status(untagged)).image
    assert image is not None and tuple(image.repo_tags) == (images.USER_NAME,)


async def _listed_by_tag(ws: Workspace, tag: str) -> bool:
    return any(tag in image.repo_tags for image in await ws.cri.list_images())


@pytest.mark.needs("registry")
async def test_image_lifecycle_by_digest(ws: Workspace) -> None:
    """critest 'public image with digest' and Image Consistency: pulled, removed, pulled by digest only.

    One check on an image no other check uses, so removals cannot race: listed and found right after
    the pull, gone from list and status right after RemoveImage returns, no tags and exactly the
    repo digest when pulled by digest, and five concurrent RemoveImage calls all succeed.
    """
    image_id = await ws.cri.pull_image(images.MULTIARCH, timeout=120)
    try:
        assert await _listed_by_tag(ws, images.MULTIARCH)
        tagged = (await ws.cri.image_status(images.MULTIARCH)).image
        assert tagged is not None and tagged.repo_digests, "the image has no repo digest"
        digest = tagged.repo_digests[0]
        await ws.cri.remove_image(image_id)  # critest's removeImage removes by id
        assert not await _listed_by_tag(ws, images.MULTIARCH)
        assert (await ws.cri.image_status(images.MULTIARCH)).image is None
        await ws.cri.pull_image(digest, timeout=120)
        image = (await ws.cri.image_status(digest)).image
        assert image is not None and tuple(image.repo_tags) == () and tuple(image.repo_digests) == (digest,)
        await asyncio.gather(*(_remove_then_absent(ws, image.id) for _ in range(5)))
    finally:
        await ws.cri.remove_image(image_id)


async def _remove_then_absent(ws: Workspace, image_id: str) -> None:
    """One of critest's concurrent RemoveImage calls: it succeeds and the image is gone at once."""
    await ws.cri.remove_image(image_id)
    assert (await ws.cri.image_status(image_id)).image is None


@pytest.mark.needs("registry")
async def test_pull_times_out(ws: Workspace) -> None:
    """critest 'public image should timeout if requested': a 1 ms pull deadline is DEADLINE_EXCEEDED."""
    with pytest.raises(DeadlineExceeded):
        await ws.cri.pull_image(images.DISTINCT[0], timeout=0.001)


async def test_image_status_every_reference(ws: Workspace) -> None:
    """critest 'image status should support all kinds of references': id, tags and digests agree."""
    await ws.ensure_image(images.BUSYBOX)
    image = (await ws.cri.image_status(images.BUSYBOX)).image
    assert image is not None
    for reference in (image.id, *image.repo_tags, *image.repo_digests):
        assert (await ws.cri.image_status(reference)).image == image, reference


@pytest.mark.needs("registry")
async def test_image_user_fields(ws: Workspace) -> None:
    """critest 'image status ... Uid|Username': USER uid fills uid, USER name fills username only."""
    expected = {
        images.USER_UID: (1234, ""),
        images.USER_NAME: (0, "app"),
        images.USER_UID_GID: (1234, ""),
        images.USER_NAME_GROUP: (0, "app"),
    }
    for reference, (uid, username) in expected.items():
        await ws.ensure_image(reference)
        image = (await ws.cri.image_status(reference)).image
        assert image is not None and (image.uid or 0, image.username) == (uid, username), reference


async def test_list_distinct_images(ws: Workspace) -> None:
    """critest 'listImage should get exactly 3 image': three references, three ids, one tag each."""
    ids = [await ws.ensure_image(reference) for reference in images.DISTINCT]
    assert len(set(ids)) == 3
    listed = {image.id: image for image in await ws.cri.list_images()}
    for reference, image_id in zip(images.DISTINCT, ids, strict=True):
        if image_id in listed:  # another check may have just removed it
            assert tuple(listed[image_id].repo_tags) == (reference,)


@pytest.mark.needs("registry")
async def test_list_one_image_many_tags(ws: Workspace) -> None:
    """critest 'listImage should get exactly 3 repoTags': tags of one image, across registries, list once."""
    ids = {await ws.cri.pull_image(reference, timeout=120) for reference in images.BUSYBOX_TAGS}
    assert len(ids) == 1
    [image] = [image for image in await ws.cri.list_images() if image.id in ids]
    assert sorted(image.repo_tags) == sorted(images.BUSYBOX_TAGS)


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="ContainerStatus.image_id is unset before containerd 1.7 (critest skips for such runtimes)",
    raises=AssertionError,
    match=r"^ContainerStatus\.image_id is empty",
)
async def test_container_from_image_id(ws: Workspace) -> None:
    """critest 'same image identifier across all APIs': a container created from the image id reports it."""
    image_ref = await ws.cri.pull_image(images.USER_UID_GID, timeout=120)
    assert (await ws.cri.image_status(images.USER_UID_GID)).image.id == image_ref  # type: ignore[union-attr]
    config = dataclasses.replace(
        ct.container_config(ws, command=()),
        image=d.ImageSpec(image=image_ref, user_specified_image=images.USER_UID_GID),
    )
    container_id = await ws.start(await ct.run_pod(ws), config)
    status = await ws.status(container_id)
    [listed] = await ws.cri.list_containers(d.ContainerFilter(id=container_id))
    assert status.image_id, "ContainerStatus.image_id is empty"
    assert status.image_id == image_ref and listed.image_id in ("", image_ref)


RANDOM_ID = str(uuid.uuid4())  # critest's idempotence specs pass a UUID, not a 64-hex id


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason=f"StopPodSandbox {CONTAINERD_STOP}",
    raises=NotFound,
    match=r'an error occurred when try to find sandbox "[0-9a-f-]+": not found',
)
async def test_stop_unknown_pod_uuid(ws: Workspace) -> None:
    """critest Idempotence 'StopPodSandbox should not return an error if not found' (a UUID id)."""
    await ws.cri.stop_pod_sandbox(RANDOM_ID)


async def test_remove_unknown_pod_uuid(ws: Workspace) -> None:
    """critest Idempotence 'RemovePodSandbox should not return an error if not found' (a UUID id)."""
    await ws.cri.remove_pod_sandbox(RANDOM_ID)


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason=f"StopContainer {CONTAINERD_STOP}",
    raises=NotFound,
    match=r'an error occurred when try to find container "[0-9a-f-]+": not found',
)
async def test_stop_unknown_container_uuid(ws: Workspace) -> None:
    """critest Idempotence 'StopContainer should not return an error if not found' (a UUID id)."""
    await ws.cri.stop_container(RANDOM_ID, grace_seconds=0)


async def test_remove_unknown_container_uuid(ws: Workspace) -> None:
    """critest Idempotence 'RemoveContainer should not return an error if not found' (a UUID id)."""
    await ws.cri.remove_container(RANDOM_ID)


async def test_remove_unknown_image_id_twice(ws: Workspace) -> None:
    """critest Idempotence 'RemoveImage should not return an error if not found': 64 zeros, twice."""
    await ws.cri.remove_image("0" * 64)
    await ws.cri.remove_image("0" * 64)


@pytest.mark.needs("processes")
async def test_stop_then_remove_twice(ws: Workspace) -> None:
    """critest Idempotence 'StopContainer ... already stopped': stop, remove, remove again all succeed."""
    pod = await ct.run_pod(ws)
    container_id = await ws.start(pod, ct.container_config(ws, command=ct.PAUSE))
    await ws.cri.stop_container(container_id, grace_seconds=ct.STOP_TIMEOUT)
    assert (await ws.status(container_id)).state == S.CONTAINER_EXITED
    await ws.cri.remove_container(container_id)
    await ws.cri.remove_container(container_id)
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.stop_pod_sandbox(pod.id)
    with pytest.raises(NotFound):
        await ws.cri.container_status(container_id)


@pytest.mark.needs("registry")
async def test_pull_with_label_only_sandbox_config(ws: Workspace) -> None:
    """critest pulls with sandbox_config = {labels} only (no metadata): the pull succeeds."""
    config = d.PodSandboxConfig(labels={})
    image_ref = await ws.cri.pull_image(images.USER_UID, sandbox_config=config, timeout=120)
    assert HEX64.fullmatch(image_ref.removeprefix("sha256:"))


IMAGE_VOLUME = "/mnt/image-volume"


@pytest.mark.needs("processes", "registry")
@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="predates image volumes: CreateContainer fails UNKNOWN 'failed to mkdir \"\"'",
    raises=Unknown,
    match=r'failed to generate spec: failed to mkdir "": mkdir : no such file or directory',
)
async def test_image_volume(ws: Workspace) -> None:
    """critest Image Volume 'mount image and enforce read-only': works, or UNIMPLEMENTED (critest skips)."""
    image_ref = await ws.cri.pull_image(images.USER_UID, timeout=120)
    spec = d.ImageSpec(image=image_ref, user_specified_image=images.USER_UID)
    mount = d.Mount(container_path=IMAGE_VOLUME, readonly=True, image=spec)
    config = ct.container_config(ws, command=ct.PAUSE, mounts=(mount,))
    try:
        container_id = await ws.create(await ct.run_pod(ws), config)
    except Unimplemented:
        pytest.skip("image volumes are UNIMPLEMENTED: critest skips")
    await ws.cri.start_container(container_id)
    await ct.wait_running(ws, container_id)

    async def run(*argv: str) -> int:
        return (await ws.cri.exec_sync(container_id, list(argv), exec_timeout=ct.EXEC_TIMEOUT)).exit_code

    assert await run("ls", "-A", f"{IMAGE_VOLUME}/bin/sh") == 0
    assert await run("touch", f"{IMAGE_VOLUME}/test-write") != 0
    assert await run(f"{IMAGE_VOLUME}/bin/ls", IMAGE_VOLUME) == 0
