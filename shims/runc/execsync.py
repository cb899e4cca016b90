"""ExecSync through ``conmon --exec`` (as CRI-O does): a timeout kills the command and answers
DEADLINE_EXCEEDED; the answer comes when the command exits, not when a child it left in the
background closes its output; each stream's first 16 MiB are kept (containerd's cap).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from cri import crilog
from cri import domain as d
from cri.errors import DeadlineExceeded, FailedPrecondition
from shims.node import conmon
from shims.node.ocispec import exec_process

OUTPUT_CAP = 16 * 1024 * 1024
LOG_LIMIT = 4 * OUTPUT_CAP  # both streams' output and the CRI log's per-line headers


def split_output(log: Path) -> tuple[bytes, bytes]:
    """Blocking: stdout and stderr as the command wrote them, each capped, from conmon's CRI log."""
    streams = {crilog.STDOUT: bytearray(), crilog.STDERR: bytearray()}
    if not log.exists():  # conmon stopped before it opened the log
        return b"", b""
    with log.open("rb") as lines:
        for record in crilog.records(lines):
            kept = streams[record.stream]
            if len(kept) < OUTPUT_CAP:
                kept += record.content if record.partial else record.content + b"\n"
    return bytes(streams[crilog.STDOUT][:OUTPUT_CAP]), bytes(streams[crilog.STDERR][:OUTPUT_CAP])


async def exec_sync(
    settings: conmon.ConmonSettings, container_id: str, bundle: Path, cmd: tuple[str, ...], *, timeout: int
) -> d.ExecSyncResult:
    try:
        spec = json.loads((bundle / "config.json").read_text())
    except FileNotFoundError:
        # The container exited between the state check and here: its exit released the bundle.
        raise FailedPrecondition(f"container {container_id} is not running") from None
    with tempfile.TemporaryDirectory(prefix="exec-", dir=bundle) as scratch:
        request = conmon.ExecRequest(
            container_id=container_id,
            bundle=bundle,
            process_file=Path(scratch) / "process.json",
            scratch=Path(scratch),
            timeout=timeout,
            output_limit=LOG_LIMIT,
        )
        request.process_file.write_text(json.dumps(exec_process(cmd, spec)))
        outcome = await conmon.exec_sync(settings, request)
        if outcome.timed_out:
            raise DeadlineExceeded(f"command {list(cmd)} timed out after {timeout}s")
        if outcome.message:
            return d.ExecSyncResult(stdout=b"", stderr=outcome.message.encode(), exit_code=outcome.exit_code)
        stdout, stderr = await asyncio.to_thread(split_output, request.output_log)
    return d.ExecSyncResult(stdout=stdout, stderr=stderr, exit_code=outcome.exit_code)
