"""`run_daemon`: a startup error is one line and exit 2; a crash while serving is a traceback and exit
1, never a usage error; SIGTERM stops the daemon through its clean-up, exit 0."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from tinykube.daemon import StartupError, run_daemon


def _refuse() -> str:
    raise StartupError("port 10250 is in use")


async def _serve_forever(config: str) -> None:
    await asyncio.Event().wait()


async def _crash_while_serving(config: str) -> None:
    await asyncio.sleep(0)
    raise ValueError("a bug while serving")


def test_a_startup_error_is_one_line_and_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_daemon("kubelet", _refuse, _serve_forever) == 2
    assert capsys.readouterr().err.splitlines() == ["tinykube kubelet: port 10250 is in use"]


def test_a_startup_error_raised_by_run_before_serving_is_one_line() -> None:
    async def bind(config: str) -> None:
        raise StartupError(f"cannot listen on {config}")

    assert run_daemon("store", lambda: "127.0.0.1:1", bind) == 2


def test_a_crash_while_serving_is_logged_with_its_traceback_not_a_usage_error(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_daemon("shim", lambda: "config", _crash_while_serving) == 1
    [record] = caplog.records
    assert record.getMessage() == "tinykube shim failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert "usage" not in capsys.readouterr().err


def test_sigterm_runs_the_clean_up_and_exits_zero() -> None:
    cleaned_up: list[str] = []

    async def serve(config: str) -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.Event().wait()
        finally:
            cleaned_up.append(config)

    assert run_daemon("store", lambda: "store", serve) == 0
    assert cleaned_up == ["store"]
