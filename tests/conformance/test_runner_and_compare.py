"""The runner's command line, and differential mode between two endpoints."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import runner
from conformance.compare import compare_main
from conformance.pod import LOG_ROOT
from shims.fake import FakeImages, FakeRuntime
from tests.conformance import broken_backends as broken
from tests.conformance.harness import ServedFake, healthy


def test_options_become_pytest_arguments() -> None:
    options = runner.RunOptions(
        endpoint="unix:///run/x.sock", image_endpoint="tcp://127.0.0.1:1", focus="sandbox", skip="oom",
        junit="/tmp/report.xml", verbose=True,
    )  # fmt: skip
    args = runner.pytest_args(options)
    pairs = dict(itertools.pairwise(args))
    assert pairs["--cri-endpoint"] == "unix:///run/x.sock"
    assert pairs["--cri-image-endpoint"] == "tcp://127.0.0.1:1"
    assert pairs["--cri-focus"] == "sandbox" and pairs["--cri-skip"] == "oom"
    assert pairs["--junitxml"] == "/tmp/report.xml" and pairs["-p"] == "conformance.plugin"
    assert args[-1] == str(runner.CHECKS)


def test_endpoint_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        runner.main([])
    assert exited.value.code == 2 and "--endpoint" in capsys.readouterr().err


def test_registry_mirror_prints_instructions(
    serve: Callable[..., ServedFake], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = serve(healthy)
    assert (
        runner.main(
            ["--endpoint", fake.endpoint, "--registry-mirror", "127.0.0.1:5999", "--focus", "version"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert '[host."http://127.0.0.1:5999"]' in out and "docker.io/hosts.toml" in out
    assert "passed, 0 failed" in out


def test_failing_check_makes_a_nonzero_exit(serve: Callable[..., ServedFake]) -> None:
    fake = serve(lambda: broken._pair(broken.WrongApiVersion))
    assert runner.main(["--endpoint", fake.endpoint, "--focus", "version_api"]) == 1


def test_compare_same_runtime_twice_has_no_differences(
    serve: Callable[..., ServedFake], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = serve(healthy), serve(healthy)
    assert compare_main(first.endpoint, second.endpoint, timeout=10, exit_wait=0.5) == 0
    assert "0 difference(s) in 5 scenarios" in capsys.readouterr().out


class LoggingFake(FakeRuntime):
    """Runs each container's command at once: appends its CRI log lines, as conmon does, then exits 3."""

    async def start_container(self, container_id: str) -> None:
        await super().start_container(container_id)
        await asyncio.to_thread(_append_log_line, Path(self._container(container_id).log_path))
        self.exit_container(container_id, 3)


def _append_log_line(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as log:
        log.write("2026-01-01T00:00:00.000000000Z stdout F out\n")


def _logging_fake() -> tuple[FakeRuntime, FakeImages]:
    return broken._pair(LoggingFake)


def test_compare_twice_gives_each_side_its_own_log_directory(
    serve: Callable[..., ServedFake], capsys: pytest.CaptureFixture[str]
) -> None:
    before = set(Path(LOG_ROOT).glob("compare-*"))
    first, second = serve(_logging_fake), serve(_logging_fake)
    for _ in range(2):
        assert compare_main(first.endpoint, second.endpoint, timeout=10, exit_wait=5) == 0
        out = capsys.readouterr().out
        assert "exit codes and logs: same" in out and "0 difference(s)" in out
    assert set(Path(LOG_ROOT).glob("compare-*")) == before


def test_compare_reports_a_semantic_difference(
    serve: Callable[..., ServedFake], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = serve(healthy), serve(lambda: broken._pair(broken.StopKeepsSandboxReady))
    assert compare_main(first.endpoint, second.endpoint, timeout=10, exit_wait=0.5) == 1
    out = capsys.readouterr().out
    assert "sandbox lifecycle: 1 difference(s)" in out
    assert "status after stop:" in out and "SANDBOX_NOTREADY" in out and "SANDBOX_READY" in out


def test_seed_pushes_into_the_named_registry_before_the_run() -> None:
    from conformance.runner import main

    asked: list[str] = []

    def failing_seeder(registry: str) -> int:
        asked.append(registry)
        return 1

    argv = ["--endpoint", "unix:///nonexistent.sock", "--seed", "--registry-mirror", "127.0.0.1:5999"]
    assert main(argv, seeder=failing_seeder) == 1
    assert asked == ["127.0.0.1:5999"]
    assert main(["--endpoint", "unix:///nonexistent.sock", "--seed"], seeder=failing_seeder) == 2
