"""`tinykube shim` as operators run it: serves the socket, drains and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from cri.client import CRIClient
from shims import failpoints


async def test_shim_serves_until_sigterm_then_removes_its_socket(tmp_path: Path) -> None:
    socket = tmp_path / "run" / "fake.sock"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tinykube.main",
        "shim",
        "--backend",
        "fake",
        "--socket",
        str(socket),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        client = await CRIClient.connect(f"unix://{socket}", connect_timeout=30)
        assert (await client.version()).runtime_name == "tinykube-fake"
        await client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"CRI server stopped" in stderr
    assert not socket.exists()


async def test_unknown_backend_is_refused_with_the_known_names() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "shim", "--backend", "nope", stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"unknown backend 'nope'" in stderr and b"fake" in stderr


async def test_a_bad_backend_config_is_refused_naming_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "runc.yaml"
    config.write_text("bogus_key: 1\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "shim", "--backend", "runc", "--config", str(config),
        "--socket", str(tmp_path / "runc.sock"), stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"bogus_key" in stderr and b"Traceback" not in stderr


async def test_a_misspelt_failpoint_is_refused_at_start() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinykube.main", "shim", "--backend", "fake",
        stderr=asyncio.subprocess.PIPE, env={**os.environ, failpoints.ENV: "runc.exec_synk"},
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"unknown failpoints runc.exec_synk" in stderr and b"Traceback" not in stderr
