"""The conformance stage for the runc shim fails, not skips, when the shim's ExecSync breaks."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from shims import failpoints
from tinykube.testbeds.runc_shim import Layout, ShimProcess, remove_everything

pytestmark = pytest.mark.integration


async def _conformance(endpoint: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "conformance", "--endpoint", endpoint,
        "--profile", "runc", "--focus", r"check_exec\.py",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 600)
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.mark.parametrize("broken", [False, True], ids=["healthy", "exec-sync-broken"])
async def test_the_runc_profile_fails_when_exec_sync_breaks(
    layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    if broken:
        monkeypatch.setenv(failpoints.ENV, "runc.exec_sync")  # the shim process inherits it
    shim = ShimProcess(layout, tmp_path / "runc.sock")
    client = await shim.start()
    try:
        code, out = await _conformance(f"unix://{shim.socket}")
    finally:
        await remove_everything(client)
        await client.close()
        await shim.stop()
    if broken:
        assert code == 1, out
        assert "FAILED: required capability missing: processes (profile runc)" in out
        assert "0 passed, 16 failed, 0 skipped" in out
    else:
        assert code == 0, out
        assert "16 passed, 0 failed, 0 skipped" in out
