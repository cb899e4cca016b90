"""Serve a (possibly broken) fake CRI backend in a background thread and run the suite against it.

The suite runs its own event loops (``asyncio.run`` in the plugin's session hooks), so the server
lives on another thread's loop and the tests that run the suite are synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import runner
from conformance.summary import Tally
from cri.server import CRIServer, ServerOptions
from shims.fake import FakeImages, FakeRuntime

BackendFactory = Callable[[], tuple[FakeRuntime, FakeImages]]


def healthy() -> tuple[FakeRuntime, FakeImages]:
    images = FakeImages()
    return FakeRuntime(images, images.faults), images


@dataclass
class ServedFake:
    endpoint: str
    runtime: FakeRuntime


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[Callable[[BackendFactory], ServedFake]]:
    """Start fakes (``start(factory)``) on one background loop; all stop when the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-cri", daemon=True)
    thread.start()
    servers: list[CRIServer] = []

    def start(factory: BackendFactory) -> ServedFake:
        socket = tmp_path / f"cri{len(servers)}.sock"

        async def make() -> tuple[CRIServer, FakeRuntime]:
            runtime, images = factory()
            server = CRIServer(runtime, images, ServerOptions(socket=socket))
            await server.start()
            return server, runtime

        server, runtime = asyncio.run_coroutine_threadsafe(make(), loop).result(30)
        servers.append(server)
        return ServedFake(f"unix://{socket}", runtime)

    try:
        yield start
    finally:
        for server in servers:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


class _Recorder:
    def __init__(self) -> None:
        self.tally = Tally()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.tally.record(report)


@dataclass(frozen=True)
class SuiteResult:
    exit_code: int
    outcomes: dict[str, str]

    def of(self, check: str) -> str:
        """Outcome of the one check whose id ends with ``check``."""
        matches = [outcome for nodeid, outcome in self.outcomes.items() if nodeid.endswith(f"::{check}")]
        assert len(matches) == 1, f"{check}: {len(matches)} matches in {sorted(self.outcomes)}"
        return matches[0]

    def failed(self) -> set[str]:
        return {nodeid.split("::")[-1] for nodeid, outcome in self.outcomes.items() if outcome == "failed"}


def run_suite(
    endpoint: str, *, focus: str, skip: str | None = None, profile: str | None = None
) -> SuiteResult:
    recorder = _Recorder()
    options = runner.RunOptions(endpoint=endpoint, focus=focus, skip=skip, timeout=10, profile=profile)
    args = runner.pytest_args(options)
    exit_code = pytest.main(args, plugins=[recorder])
    return SuiteResult(int(exit_code), dict(recorder.tally.outcomes))
