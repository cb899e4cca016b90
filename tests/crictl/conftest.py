"""crictl against the fake runtime served over a real unix socket, with fixed ids and clock."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import time
import types
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cri.crictl.app import run
from cri.server import CRIServer, ServerOptions
from shims.fake import FakeImages, FakeRuntime

EPOCH_NS = 1_764_000_000_000_000_000  # 2025-11-24T16:00:00Z
HOUR_NS = 3600 * 1_000_000_000
GOLDEN = Path(__file__).parent / "golden"


class WatchedOutput(io.StringIO):
    """A StringIO that wakes waiters on every write, so tests wait on its content, not on time."""

    def __init__(self) -> None:
        super().__init__()
        self._written = asyncio.Event()

    def write(self, text: str) -> int:
        self._written.set()
        return super().write(text)

    async def wait_until(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.getvalue()):
                self._written.clear()
                await self._written.wait()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass
class Crictl:
    """Runs ``crictl`` command lines in-process against one endpoint."""

    runtime: FakeRuntime
    images: FakeImages
    socket: Path
    config_file: Path
    now_ns: int

    async def __call__(self, *argv: str, stdin: str = "", environ: dict[str, str] | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        env = {"CRI_CONFIG_FILE": str(self.config_file)} if environ is None else environ
        code = await run(
            ["-r", f"unix://{self.socket}", *argv],
            out=out,
            err=err,
            stdin=io.StringIO(stdin),
            environ=env,
            now_ns=lambda: self.now_ns,
        )
        return Result(code, out.getvalue(), err.getvalue())

    async def ok(self, *argv: str) -> str:
        result = await self(*argv)
        assert result.code == 0, result.err
        return result.out


class _Clock:
    """Each reading is one second after the previous one."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def time_ns(self) -> int:
        return EPOCH_NS + next(self._ticks) * 1_000_000_000


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
async def crictl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, utc: None) -> AsyncIterator[Crictl]:
    counter = itertools.count(1)
    monkeypatch.setattr(
        "shims.fake.runtime.new_id", lambda: hashlib.sha256(f"object-{next(counter)}".encode()).hexdigest()
    )
    clock = types.SimpleNamespace(time_ns=_Clock().time_ns)
    monkeypatch.setattr("shims.fake.runtime.time", clock)
    monkeypatch.setattr("shims.fake.images.time", clock)
    monkeypatch.setattr("cri.views.time", clock)
    images = FakeImages()
    runtime = FakeRuntime(images, images.faults)
    socket = tmp_path / "run" / "cri.sock"
    server = CRIServer(runtime, images, ServerOptions(socket=socket, drain_seconds=0.1))
    await server.start()
    try:
        yield Crictl(runtime, images, socket, tmp_path / "crictl.yaml", EPOCH_NS + HOUR_NS)
    finally:
        await server.stop()


def golden(name: str, actual: str, *, update: bool = False) -> None:
    """Compare ``actual`` with ``golden/<name>`` (set CRICTL_UPDATE_GOLDEN=1 to rewrite it)."""
    import os

    path = GOLDEN / name
    if update or os.environ.get("CRICTL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert actual == path.read_text()
