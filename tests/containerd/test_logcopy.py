"""A task's FIFO output becomes CRI log records, across ReopenContainerLog, with nothing lost."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from cri import crilog
from shims.containerd.logcopy import ContainerLog
from shims.containerd.stdio import FifoReader, make_fifos
from tests.containerd.polling import until

CLOCK_NS = 1_700_000_000_123_456_789


def records(path: Path) -> list[tuple[str, bool, bytes]]:
    parsed = list(crilog.records(path.read_bytes().splitlines()))
    return [(record.stream, record.partial, record.content) for record in parsed]


class Process:
    """The writer side of a task's FIFOs, as containerd's shim holds it."""

    def __init__(self, directory: Path) -> None:
        self.fifos = make_fifos(directory, "c", stdin=False, terminal=False)
        assert self.fifos.stderr is not None
        self.readers = {"stdout": FifoReader(self.fifos.stdout), "stderr": FifoReader(self.fifos.stderr)}
        self.out = os.open(self.fifos.stdout, os.O_WRONLY)
        self.err = os.open(self.fifos.stderr, os.O_WRONLY)

    def exit(self) -> None:
        os.close(self.out)
        os.close(self.err)


async def test_both_streams_become_records_and_an_unfinished_line_ends_partial(tmp_path: Path) -> None:
    process = Process(tmp_path / "io")
    log = ContainerLog(tmp_path / "logs" / "c.log", clock=lambda: CLOCK_NS)
    copying = asyncio.ensure_future(log.copy(process.readers))
    os.write(process.out, b"hello\nwor")
    os.write(process.err, b"oops\n")
    os.write(process.out, b"ld\nno newline")
    process.exit()
    async with asyncio.timeout(10):
        await copying
    lines = records(tmp_path / "logs" / "c.log")
    assert sorted(lines) == sorted(
        [
            ("stdout", False, b"hello"),
            ("stderr", False, b"oops"),
            ("stdout", False, b"world"),
            ("stdout", True, b"no newline"),
        ]
    )
    assert (tmp_path / "logs" / "c.log").read_bytes().startswith(b"2023-11-14T22:13:20.123456789Z ")


async def test_reopening_continues_in_a_new_file_without_losing_a_line(tmp_path: Path) -> None:
    process = Process(tmp_path / "io")
    path = tmp_path / "c.log"
    log = ContainerLog(path)
    copying = asyncio.ensure_future(log.copy(process.readers))
    os.write(process.out, b"first\nsec")
    await until(lambda: path.exists() and b"first" in path.read_bytes())
    path.rename(tmp_path / "c.log.1")
    log.reopen()
    os.write(process.out, b"ond\n")
    process.exit()
    async with asyncio.timeout(10):
        await copying
    assert records(tmp_path / "c.log.1") == [("stdout", False, b"first")]
    assert records(path) == [("stdout", False, b"second")]


async def test_output_without_a_log_path_is_drained(tmp_path: Path) -> None:
    process = Process(tmp_path / "io")
    copying = asyncio.ensure_future(ContainerLog(None).copy(process.readers))
    await asyncio.to_thread(os.write, process.out, b"x" * 200_000)  # more than a pipe holds
    process.exit()
    async with asyncio.timeout(10):
        await copying
