"""crictl logs reads the container's log file on this host."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from cri.crictl.app import run
from tests.crictl import scenario
from tests.crictl.conftest import Crictl, WatchedOutput

LINES = (
    "2025-11-24T16:00:01.5Z stdout F first\n"
    "2025-11-24T16:00:02Z stderr F problem\n"
    "2025-11-24T16:00:03Z stdout P par\n"
    "2025-11-24T16:00:03Z stdout F tial\n"
)


def _log(tmp_path: Path, pod: str, name: str, attempt: int = 0) -> Path:
    path = tmp_path / "logs" / pod / name / f"{attempt}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


async def test_logs_prints_each_stream_to_its_own_output(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    _log(tmp_path, "web", "server").write_text(LINES)
    result = await crictl("logs", state.server)
    assert (result.code, result.out, result.err) == (0, "first\npartial\n", "problem\n")


async def test_logs_options(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    _log(tmp_path, "web", "server").write_text(LINES)
    assert await crictl.ok("logs", "--tail", "1", state.server) == "partial\n"
    assert await crictl.ok("logs", "-t", "--stream", "stdout", state.server) == (
        "2025-11-24T16:00:01.5Z first\n2025-11-24T16:00:03Z par2025-11-24T16:00:03Z tial\n"
    )
    assert await crictl.ok("logs", "--since", "2025-11-24T16:00:02Z", "--stream", "stdout", state.server) == (
        "partial\n"
    )
    assert await crictl.ok("logs", "--limit-bytes", "3", state.server) == "fir"
    recent = await crictl("logs", "--since", "1h", state.server)  # crictl's clock is 16:59:59+1s
    assert recent.out == "" or recent.out.endswith("partial\n")


async def test_previous_reads_the_previous_attempt(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    refused = await crictl("logs", "-p", state.server)
    assert refused.code == 1 and "previous terminated container server not found" in refused.err


async def test_a_missing_log_file_is_reported(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    result = await crictl("logs", state.job)
    assert result.code == 1 and "failed to open log file" in result.err and "0.log" in result.err


async def test_follow_streams_new_lines_until_the_container_exits(crictl: Crictl, tmp_path: Path) -> None:
    state = await scenario.build(crictl, tmp_path)
    log = _log(tmp_path, "web", "server")
    log.write_text("2025-11-24T16:00:01Z stdout F before\n")
    out = WatchedOutput()
    follower = asyncio.create_task(
        run(
            ["-r", f"unix://{crictl.socket}", "logs", "-f", state.server],
            out=out,
            err=io.StringIO(),
            environ={},
        )
    )
    await out.wait_until(lambda text: text == "before\n")
    with log.open("a") as handle:
        handle.write("2025-11-24T16:00:02Z stdout F after\n2025-11-24T16:00:03Z stdout P unfin")
    await out.wait_until(lambda text: text == "before\nafter\n")
    with log.open("a") as handle:
        handle.write("ished\n2025-11-24T16:00:04Z stdout F !\n")
    crictl.runtime.exit_container(state.server, 0)
    assert await asyncio.wait_for(follower, 10) == 0
    assert out.getvalue() == "before\nafter\nunfinished!\n"
