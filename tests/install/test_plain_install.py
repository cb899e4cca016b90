"""Every `tinykube` command works from a plain install, as a new user makes it: a fresh venv,
``pip install .`` without extras, ``--help`` of every command, and the conformance suite (a product
built on pytest) against ``tinykube shim --backend fake`` served from that venv."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinykube.main import COMMANDS

INSTALL_TIMEOUT_S = 900
COMMAND_TIMEOUT_S = 120
SOCKET_TIMEOUT_S = 30
CONFORMANCE_TIMEOUT_S = 900
pytestmark = [pytest.mark.integration, pytest.mark.timeout(INSTALL_TIMEOUT_S + CONFORMANCE_TIMEOUT_S)]

REPO = Path(__file__).resolve().parents[2]
NOT_INSTALLED = (".venv", ".git", "tests", "bench", "build", "*.egg-info", "__pycache__", ".*_cache")


def _run(argv: list[str | Path], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Runs ``argv`` in its own process group, all of which (pytest-xdist workers too) is killed if
    it overruns or the test is interrupted."""
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    environment.pop("PYTHONPATH", None)
    pipe = subprocess.PIPE
    with subprocess.Popen(
        argv, stdout=pipe, stderr=pipe, text=True, env=environment, start_new_session=True
    ) as process:
        try:
            output, errors = process.communicate(timeout=timeout)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(argv, process.returncode, output, errors)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project installed from a copy of its source (the checkout stays clean)."""
    base = tmp_path_factory.mktemp("plain-install")
    source = base / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_INSTALLED))
    created = _run([sys.executable, "-m", "venv", base / "venv"], timeout=COMMAND_TIMEOUT_S)
    assert created.returncode == 0, created.stderr
    installed = _run([base / "venv/bin/pip", "install", "--quiet", source], timeout=INSTALL_TIMEOUT_S)
    assert installed.returncode == 0, installed.stderr
    return base / "venv"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_answers_help(venv: Path, command: str) -> None:
    answered = _run([venv / "bin/tinykube", command, "--help"], timeout=COMMAND_TIMEOUT_S)
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.startswith("usage: "), answered.stdout


@pytest.fixture
def fake_shim(venv: Path, tmp_path: Path) -> Iterator[Path]:
    """The fake shim from the fresh venv; it must stop cleanly on SIGTERM. Its log goes to a file: it
    logs every call, and a pipe nobody reads would block it."""
    socket, log = tmp_path / "fake.sock", tmp_path / "shim.log"
    with log.open("w") as log_file:
        shim = subprocess.Popen(
            [venv / "bin/tinykube", "shim", "--backend", "fake", "--socket", socket],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        deadline = time.monotonic() + SOCKET_TIMEOUT_S
        while not socket.is_socket():
            assert shim.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the fake shim did not create its socket"
            time.sleep(0.1)
        yield socket
    finally:
        shim.send_signal(signal.SIGTERM)
        try:
            shim.wait(timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            shim.kill()
            shim.wait()
    assert shim.returncode == 0, log.read_text()[-4000:]


def test_conformance_passes_against_the_fake_shim(venv: Path, fake_shim: Path) -> None:
    suite = _run(
        [
            venv / "bin/tinykube",
            "conformance",
            "--endpoint",
            f"unix://{fake_shim}",
            "--profile",
            "fake",
            "--parallel",
            "2",
        ],
        timeout=CONFORMANCE_TIMEOUT_S,
    )
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-4000:]
    assert " passed, 0 failed" in suite.stdout
