"""Container log files in the CRI format, and ReopenContainerLog."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from conformance.checks.helpers import rotate_log
from conformance.workspace import Workspace, wait_for
from cri.errors import CRIError

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes", "logs")]
LINE = re.compile(r"(?P<ts>\S+) (?P<stream>stdout|stderr) (?P<tag>[PF]) (?P<text>.*)")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _parse(text: str) -> list[re.Match[str]]:
    lines = text.splitlines()
    parsed = [LINE.fullmatch(line) for line in lines]
    assert all(parsed), (
        f"lines not in CRI format: {[ln for ln, m in zip(lines, parsed, strict=True) if not m]}"
    )
    return [m for m in parsed if m]


async def _logged(ws: Workspace, script: str, *, until: str, tty: bool = False) -> list[re.Match[str]]:
    container_id = await ws.start(command=("sh", "-c", f"{script}; echo {until}; exec sleep 3600"), tty=tty)
    return _parse(await ws.log_text(container_id, until=until))


async def test_stdout_full_lines(ws: Workspace) -> None:
    """stdout lines are logged as '<ts> stdout F <text>': kubectl logs parses exactly this."""
    lines = await _logged(ws, "echo one; echo two", until="end-mark")
    assert [(m["stream"], m["tag"], m["text"]) for m in lines[:2]] == [
        ("stdout", "F", "one"),
        ("stdout", "F", "two"),
    ]


async def test_stderr_tagged(ws: Workspace) -> None:
    """stderr lines are tagged stderr: kubectl logs keeps the streams apart."""
    lines = await _logged(ws, "echo oops >&2", until="end-mark")
    assert ("stderr", "oops") in {(m["stream"], m["text"]) for m in lines}


async def test_timestamps_rfc3339nano(ws: Workspace) -> None:
    """Each line starts with an RFC3339Nano timestamp: kubectl logs --timestamps/--since use it."""
    lines = await _logged(ws, "echo stamped", until="end-mark")
    assert all(TIMESTAMP.fullmatch(m["ts"]) for m in lines)


async def test_timestamps_ordered(ws: Workspace) -> None:
    """Timestamps never go backwards within a stream: --since and log rotation rely on order."""
    lines = await _logged(ws, "for i in 1 2 3 4 5; do echo $i; done", until="end-mark")
    stamps = [m["ts"] for m in lines if m["stream"] == "stdout"]
    assert stamps == sorted(stamps)


async def test_partial_line_tagged_p(ws: Workspace) -> None:
    """A stream ending without a newline logs its last line with tag P: kubectl keeps it unterminated."""
    status = await ws.run_to_exit(command=("sh", "-c", "printf no-newline"))
    lines = _parse(await asyncio.to_thread(Path(status.log_path).read_text))
    assert ("P", "no-newline") in {(m["tag"], m["text"]) for m in lines}


async def test_long_line_split_at_16k(ws: Workspace) -> None:
    """A line over 16 KiB is split into P chunks and a final F: the kubelet's reader expects it."""
    script = "yes x | tr -d '\\n' | head -c 40000; echo"
    lines = await _logged(ws, script, until="end-mark")
    first = next(i for i, m in enumerate(lines) if m["text"].startswith("x"))
    last = next(i for i in range(first, len(lines)) if lines[i]["tag"] == "F")
    chunks = lines[first : last + 1]  # CRI-O's conmon may end the line with an empty F record
    assert all(m["tag"] == "P" for m in chunks[:-1]) and len(chunks) >= 3
    assert "".join(m["text"] for m in chunks) == "x" * 40000


async def test_tty_logs_to_stdout(ws: Workspace) -> None:
    """A TTY container logs everything as stdout: there is one stream on a terminal."""
    lines = await _logged(ws, "echo tty-err >&2", until="end-mark", tty=True)
    assert {m["stream"] for m in lines} == {"stdout"}


async def test_log_after_exit(ws: Workspace) -> None:
    """The log of an exited container stays readable: kubectl logs --previous reads it."""
    status = await ws.run_to_exit(command=("sh", "-c", "echo last-words"))
    path = Path(status.log_path)
    assert "last-words" in await asyncio.to_thread(path.read_text)


async def test_reopen_creates_new_file(ws: Workspace) -> None:
    """ReopenContainerLog writes to a new file at the same path: kubelet log rotation depends on it."""
    script = "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"
    container_id = await ws.start(command=("sh", "-c", script))
    path = Path((await ws.status(container_id)).log_path)
    await ws.log_text(container_id, until="line-1")
    rotated = await rotate_log(ws.cri, container_id, path)
    await ws.log_text(container_id, until="line-")
    size = (await asyncio.to_thread(rotated.stat)).st_size

    async def new_lines_only_in_new_file() -> bool | None:
        text = await asyncio.to_thread(path.read_text)
        return True if text.count("line-") >= 2 else None

    await wait_for("new lines in the reopened log", new_lines_only_in_new_file)
    assert (await asyncio.to_thread(rotated.stat)).st_size == size


async def test_reopen_stopped_container_fails(ws: Workspace) -> None:
    """ReopenContainerLog of a stopped container is an error and creates no file."""
    container_id = await ws.start()
    await ws.cri.stop_container(container_id, grace_seconds=0)
    path = Path((await ws.status(container_id)).log_path)
    await asyncio.to_thread(path.unlink, missing_ok=True)
    with pytest.raises(CRIError):
        await ws.cri.reopen_container_log(container_id)
    assert not await asyncio.to_thread(path.exists)


async def test_log_directory_created(ws: Workspace) -> None:
    """The runtime creates missing directories of the log path: the kubelet only makes the pod dir."""
    config = ws.container_config(name="nested", log_path="nested/deeper/0.log", command=("echo", "nested"))
    status = await ws.wait_exited(await ws.start(config=config))
    assert status.log_path.endswith("nested/deeper/0.log")
    assert "nested" in await asyncio.to_thread(Path(status.log_path).read_text)
