"""execwait: ExecSync's exit code comes when the command exits, whoever still holds its output."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from shims.node import execwait
from shims.node.execwait import exit_code


def _execwait(pid_file: Path, script: str) -> subprocess.Popen[bytes]:
    """execwait over ``sh -c script``, which plays `runc exec --detach`: starts the process and returns."""
    argv = execwait.command(str(pid_file), ["sh", "-c", script])
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_exit_code_of_the_detached_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    waiter = _execwait(pid_file, f"sh -c 'echo out; exit 7' & echo $! > {pid_file}")
    out, _ = waiter.communicate(timeout=30)
    assert (waiter.returncode, out) == (7, b"out\n")


def test_returns_while_a_background_child_holds_the_output(tmp_path: Path) -> None:
    pid_file, child_file = tmp_path / "pid", tmp_path / "child"
    script = f"sh -c 'sleep 600 & echo $! > {child_file}; exit 3' & echo $! > {pid_file}"
    waiter = _execwait(pid_file, script)
    try:
        assert waiter.wait(timeout=30) == 3
    finally:
        os.kill(int(child_file.read_text()), signal.SIGKILL)
        waiter.communicate(timeout=30)


def test_failing_runc_exit_code_passed_on(tmp_path: Path) -> None:
    waiter = _execwait(tmp_path / "pid", "echo 'exec failed' >&2; exit 255")
    _, err = waiter.communicate(timeout=30)
    assert (waiter.returncode, err) == (255, b"exec failed\n")


def test_killed_by_signal_is_128_plus_signal() -> None:
    assert exit_code(signal.SIGKILL) == 137 and exit_code(2 << 8) == 2
