"""Containers, their logs, env and exec as the kubelet and crictl users lean on them (differential)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from pathlib import Path

import pytest

from conformance import images
from conformance.checks.helpers import rotate_log, sh
from conformance.pod import security
from conformance.workspace import Workspace
from cri import domain as d
from cri.errors import CRIError, DeadlineExceeded

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]
STATE = d.ContainerState
LOG_LINE = re.compile(r"\S+ (stdout|stderr) (?P<tag>[PF]) (?P<text>.*)")
SEQ_LINES = 20000
SHARED_PID = d.LinuxPodSandboxConfig(
    security_context=d.LinuxSandboxSecurityContext(
        namespace_options=d.NamespaceOption(pid=d.NamespaceMode.POD)
    )
)


def _texts(log: str, *, unfinished: bool = True) -> list[str]:
    """The log's lines as the kubelet reads them: P records joined to the record that follows."""
    lines, partial = [], ""
    for match in map(LOG_LINE.fullmatch, log.splitlines()):
        assert match, f"a line not in CRI format in {log[:200]!r}"
        partial += match["text"]
        if match["tag"] == "F":
            lines.append(partial)
            partial = ""
    return [*lines, partial] if partial and unfinished else lines


async def test_missing_command_is_start_error(ws: Workspace) -> None:
    """A missing command fails StartContainer, leaving EXITED 128 StartError: the kubelet shows it."""
    container_id = await ws.create(command=("/no/such/binary",))
    with pytest.raises(CRIError):
        await ws.cri.start_container(container_id)
    status = await ws.status(container_id)
    assert status.state == STATE.CONTAINER_EXITED, status
    assert (status.exit_code, status.reason) == (128, "StartError"), status
    assert "/no/such/binary" in status.message and status.finished_at > 0, status


async def test_killed_by_signal_exit_code(ws: Workspace) -> None:
    """A process killed by a signal exits 128+signal: the kubelet and users read 137 as SIGKILL."""
    pod = await ws.run_pod(linux=SHARED_PID)  # PID 1 of its own namespace would ignore the signal
    shared = security(namespace_options=d.NamespaceOption(pid=d.NamespaceMode.POD))
    status = await ws.run_to_exit(pod, command=("sh", "-c", "kill -9 $$"), linux=shared)
    assert (status.exit_code, status.reason) == (137, "Error"), status


async def test_stdin_closed_without_stdin(ws: Workspace) -> None:
    """Without stdin the process reads EOF at once: a `cat` container completes instead of hanging."""
    status = await ws.run_to_exit(command=("sh", "-c", "cat; echo read-eof"))
    assert (status.exit_code, status.reason) == (0, "Completed"), status
    assert "read-eof" in await asyncio.to_thread(Path(status.log_path).read_text)


@pytest.mark.needs("logs")
@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="the log of a container exiting right after a burst of output can stop mid-line",
    raises=AssertionError,
    match=r"^assert \['1', '2', ",
    intermittent=True,
)
async def test_fast_output_fully_logged_at_exit(ws: Workspace) -> None:
    """All a container writes right before exiting is logged once EXITED: kubectl logs --previous."""
    status = await ws.run_to_exit(command=("seq", "1", str(SEQ_LINES)))
    texts = _texts(await asyncio.to_thread(Path(status.log_path).read_text))
    assert texts == [str(i) for i in range(1, SEQ_LINES + 1)]


@pytest.mark.needs("logs")
async def test_long_unterminated_line_fully_logged_at_exit(ws: Workspace) -> None:
    """A line over 16 KiB without newline, then exit, is logged whole: a crash's last words."""
    script = "yes x | tr -d '\\n' | head -c 40000"
    status = await ws.run_to_exit(command=("sh", "-c", script))
    assert _texts(await asyncio.to_thread(Path(status.log_path).read_text)) == ["x" * 40000]


async def test_exec_runs_in_working_dir(ws: Workspace) -> None:
    """ExecSync starts in the container's working_dir: probes and kubectl exec use relative paths."""
    container_id = await ws.start(working_dir="/tmp")
    result = await ws.cri.exec_sync(container_id, ["pwd"], exec_timeout=20)
    assert (result.exit_code, result.stdout) == (0, b"/tmp\n"), result


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="ExecSync waits, past its timeout, for a background child holding the output",
    raises=DeadlineExceeded,
    match=r"^Deadline Exceeded$",
)
async def test_exec_returns_when_command_exits(ws: Workspace) -> None:
    """ExecSync answers once the command exits, not when a child it left does: probes may start daemons."""
    container_id = await ws.start()
    cmd = ["sh", "-c", "sleep 3600 & echo started"]
    result = await ws.cri.exec_sync(container_id, cmd, exec_timeout=10, timeout=40)
    assert (result.exit_code, result.stdout) == (0, b"started\n"), result


async def test_exec_runs_as_container_user(ws: Workspace) -> None:
    """ExecSync runs as the container's user and group: probes must not gain root in a non-root pod."""
    container_id = await ws.start(image=images.USER_NAME)
    assert await sh(ws.cri, container_id, "id -u; id -g") == "1234\n5678"


async def test_start_error_container_removable(ws: Workspace) -> None:
    """A container that failed to start is removed and its name reused: the kubelet retries it."""
    config = ws.container_config(command=("/no/such/binary",))
    pod = await ws.run_pod()
    container_id = await ws.create(pod, config)
    with pytest.raises(CRIError):
        await ws.cri.start_container(container_id)
    await ws.cri.remove_container(container_id)
    again = await ws.create(pod, config)
    assert again != container_id and (await ws.status(again)).state == STATE.CONTAINER_CREATED


@pytest.mark.needs("logs")
async def test_rotation_loses_no_line(ws: Workspace) -> None:
    """Rename + ReopenContainerLog under steady output loses no line: kubelet log rotation keeps history."""
    container_id = await ws.start(command=("sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); done"))
    path = Path((await ws.status(container_id)).log_path)
    await ws.log_text(container_id, until=" 1000\n")
    rotated = await rotate_log(ws.cri, container_id, path)
    await ws.log_text(container_id, until="\n")
    await ws.cri.stop_container(container_id, grace_seconds=0)
    old, new = await asyncio.to_thread(rotated.read_text), await asyncio.to_thread(path.read_text)
    numbers = [int(text) for text in _texts(old + new, unfinished=False)]  # a line may span the two files
    assert _texts(new) and numbers == list(range(len(numbers))), "lines lost or repeated across the rotation"


async def test_no_log_directory_runs_without_log(ws: Workspace) -> None:
    """A pod without log_directory still runs containers, with an empty log_path: `crictl run` sends none."""
    pod = await ws.run_pod(dataclasses.replace(ws.sandbox_config(), log_directory=""))
    container_id = await ws.start(pod, command=("sh", "-c", "echo unlogged; exec sleep 3600"))
    status = await ws.status(container_id)
    assert status.state == STATE.CONTAINER_RUNNING and status.log_path == "", status


@pytest.mark.needs("logs")
async def test_tty_log_lines_without_carriage_return(ws: Workspace) -> None:
    """A TTY container's log lines carry no trailing CR: kubectl logs prints them as written."""
    container_id = await ws.start(command=("sh", "-c", "echo tty-line; exec sleep 3600"), tty=True)
    log = await ws.log_text(container_id, until="tty-line")
    assert "tty-line" in _texts(log), log


async def test_missing_working_dir_created(ws: Workspace) -> None:
    """A working_dir absent from the image is created, as runc does: pods set workingDir freely."""
    container_id = await ws.start(working_dir="/no/such/workdir")
    assert await sh(ws.cri, container_id, "pwd") == "/no/such/workdir"


async def test_config_env_replaces_image_env(ws: Workspace) -> None:
    """A config env var replaces the image's var of that name, once: pods override PATH and the like."""
    container_id = await ws.start(envs={"PATH": "/bin:/tk-custom"})
    assert await sh(ws.cri, container_id, "env | grep ^PATH=") == "PATH=/bin:/tk-custom"


async def test_duplicate_env_last_wins(ws: Workspace) -> None:
    """A var given twice takes its last value: the kubelet sends a pod's env in order, later entries win."""
    envs = tuple(d.KeyValue(key="TK_TWICE", value=value) for value in (b"first", b"last"))
    config = dataclasses.replace(ws.container_config(), envs=envs)
    container_id = await ws.start(config=config)
    assert await sh(ws.cri, container_id, "env | grep ^TK_TWICE=") == "TK_TWICE=last"


async def test_empty_and_spaced_args_kept(ws: Workspace) -> None:
    """Empty and spaced args reach the process unchanged: pods pass args like '' and 'a b'."""
    script = 'for a in "$@"; do echo "[$a]"; done'
    status = await ws.run_to_exit(command=("sh", "-c", script, "sh"), args=("", "a  b", "*"))
    log = await asyncio.to_thread(Path(status.log_path).read_text)
    assert _texts(log) == ["[]", "[a  b]", "[*]"]


async def test_create_with_missing_image_leaves_nothing(ws: Workspace) -> None:
    """CreateContainer of an image not pulled fails and lists nothing: the kubelet pulls and retries."""
    pod = await ws.run_pod()
    config = ws.container_config(image="docker.io/tinykube/never-pulled:none")
    with pytest.raises(CRIError):
        await ws.cri.create_container(pod.id, config, pod.config)
    assert await ws.cri.list_containers(d.ContainerFilter(pod_sandbox_id=pod.id)) == []


async def test_home_and_hostname_env(ws: Workspace) -> None:
    """HOME comes from the user's passwd entry and HOSTNAME is the pod's: shells and apps read both."""
    pod = await ws.run_pod(hostname="tk-envhost")
    container_id = await ws.start(pod, image=images.USER_NAME)
    assert await sh(ws.cri, container_id, 'echo "$HOME|$HOSTNAME"') == "/home/app|tk-envhost"


async def test_missing_host_path_created(ws: Workspace) -> None:
    """A bind mount whose host path is missing gets a directory there: hostPath volumes of kind ''."""
    host = Path(f"/tmp/tinykube-missing-{uuid.uuid4().hex}")
    mount = d.Mount(container_path="/mnt/made", host_path=str(host))
    try:
        container_id = await ws.start(mounts=(mount,))
        await sh(ws.cri, container_id, "echo made > /mnt/made/file")
        assert await asyncio.to_thread((host / "file").read_text) == "made\n"
    finally:
        await asyncio.to_thread(_remove_tree, host)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
