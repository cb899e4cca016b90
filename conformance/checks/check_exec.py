"""ExecSync: output, exit codes, timeout, output size, environment."""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks.helpers import sh
from conformance.workspace import Workspace
from cri.errors import CRIError, DeadlineExceeded

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]


async def test_stdout(ws: Workspace) -> None:
    """ExecSync returns the command's stdout: exec probes and kubectl exec read it."""
    result = await ws.cri.exec_sync(await ws.start(), ["echo", "hello"], exec_timeout=10)
    assert result.stdout == b"hello\n" and result.exit_code == 0


async def test_stderr_separate(ws: Workspace) -> None:
    """ExecSync keeps stderr apart from stdout: probes report stderr as the failure message."""
    result = await ws.cri.exec_sync(await ws.start(), ["sh", "-c", "echo out; echo err >&2"], exec_timeout=10)
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


@pytest.mark.parametrize("code", [1, 2, 127, 255])
async def test_exit_code(ws: Workspace, code: int) -> None:
    """ExecSync returns the process's exit code: exec liveness probes fail on non-zero."""
    result = await ws.cri.exec_sync(await ws.start(), ["sh", "-c", f"exit {code}"], exec_timeout=10)
    assert result.exit_code == code


async def test_missing_binary_fails(ws: Workspace) -> None:
    """Exec of a missing binary fails (error or non-zero exit): a probe must not pass on a typo."""
    container_id = await ws.start()
    try:
        result = await ws.cri.exec_sync(container_id, ["/no/such/binary"], exec_timeout=10)
    except CRIError:
        return
    assert result.exit_code != 0


async def test_timeout_is_deadline_exceeded(ws: Workspace) -> None:
    """ExecSync past its timeout answers DEADLINE_EXCEEDED: the kubelet counts it as a probe timeout."""
    container_id = await ws.start()
    with pytest.raises(DeadlineExceeded):
        await ws.cri.exec_sync(container_id, ["sleep", "30"], exec_timeout=1, timeout=25)


async def test_timeout_kills_process(ws: Workspace) -> None:
    """A timed-out exec's process is killed: hung probes must not pile up in the container."""
    container_id = await ws.start()
    with contextlib.suppress(CRIError):
        await ws.cri.exec_sync(
            container_id, ["sh", "-c", "echo $$ > /tmp/probe.pid; exec sleep 30"], exec_timeout=1
        )

    async def gone() -> bool | None:
        alive = await sh(
            ws.cri, container_id, "kill -0 $(cat /tmp/probe.pid) 2>/dev/null && echo yes || echo no"
        )
        return True if alive == "no" else None

    from conformance.workspace import wait_for

    assert await wait_for("the timed-out exec to be killed", gone, timeout=15)


async def test_zero_timeout_means_none(ws: Workspace) -> None:
    """ExecSync timeout 0 means no timeout: a command that takes a while completes."""
    result = await ws.cri.exec_sync(await ws.start(), ["sh", "-c", "sleep 2; echo done"], exec_timeout=0)
    assert result.stdout == b"done\n"


async def test_large_output(ws: Workspace) -> None:
    """ExecSync returns 1 MiB of output intact: probes may print a lot."""
    container_id = await ws.start()
    result = await ws.cri.exec_sync(container_id, ["head", "-c", "1048576", "/dev/zero"], exec_timeout=20)
    assert len(result.stdout) == 1048576 and set(result.stdout) == {0}


async def test_sees_container_env(ws: Workspace) -> None:
    """Exec'd processes see the container's env: probes use env-dependent scripts."""
    container_id = await ws.start(envs={"TK_FROM_SPEC": "yes"})
    assert await sh(ws.cri, container_id, "echo $TK_FROM_SPEC") == "yes"


async def test_sees_container_filesystem(ws: Workspace) -> None:
    """Exec'd processes share the container's filesystem: probes check files the app wrote."""
    container_id = await ws.start(command=("sh", "-c", "echo written > /tmp/app; exec sleep 3600"))

    async def written() -> str | None:
        text = await sh(ws.cri, container_id, "cat /tmp/app 2>/dev/null || true")
        return text or None

    from conformance.workspace import wait_for

    assert await wait_for("the app's file", written) == "written"


async def test_exec_in_exited_container_fails(ws: Workspace) -> None:
    """ExecSync in an exited container is an error: probes of dead containers must fail."""
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    with pytest.raises(CRIError):
        await ws.cri.exec_sync(container_id, ["true"], exec_timeout=5)


async def test_exec_in_created_container_fails(ws: Workspace) -> None:
    """ExecSync in a created (not started) container is an error: there is no process to join."""
    container_id = await ws.create()
    with pytest.raises(CRIError):
        await ws.cri.exec_sync(container_id, ["true"], exec_timeout=5)


async def test_stdin_is_empty(ws: Workspace) -> None:
    """ExecSync gives the command no stdin: cat ends at once instead of hanging."""
    result = await ws.cri.exec_sync(await ws.start(), ["cat"], exec_timeout=10)
    assert result.exit_code == 0 and result.stdout == b""
