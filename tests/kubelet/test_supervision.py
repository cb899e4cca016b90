"""The kubelet's loops run supervised: one that fails ends ``run()`` with its error (the daemon then
exits non-zero with the traceback), never a silently dead loop; a refused termination is retried."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.core.v1.pods import pod_uid
from api.model.core_v1 import Pod
from cri.errors import Unavailable
from kubelet.node import build_kubelet
from kubelet.pod_workers import PodWorkers

from .conftest import test_config as kubelet_config
from .fake_cri import serve_fake
from .podspecs import make_pod

WAIT_S = 20.0


async def test_a_loop_that_raises_makes_run_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve_fake(tmp_path) as cri:
        kubelet = build_kubelet(kubelet_config(tmp_path), cri.client)

        async def broken_scan() -> None:
            raise RuntimeError("static pod source bug")

        monkeypatch.setattr(kubelet.source, "scan_once", broken_scan)
        with pytest.raises(ExceptionGroup) as failed:
            await asyncio.wait_for(kubelet.run(), WAIT_S)
    assert failed.group_contains(RuntimeError, match="static pod source bug")


async def _until_terminated(workers: PodWorkers) -> None:
    async with asyncio.timeout(WAIT_S):
        while workers.known():
            workers.terminated.clear()
            await workers.terminated.wait()


async def test_a_pod_worker_that_fails_fails_the_workers() -> None:
    async def sync(pod: Pod) -> float:
        return 60.0

    async def terminate(pod: Pod) -> None:
        raise RuntimeError("termination bug")

    workers = PodWorkers(sync=sync, terminate=terminate)
    workers.update(make_pod())
    workers.remove("uid-1")
    with pytest.raises(ExceptionGroup) as failed:
        await asyncio.wait_for(workers.run(), WAIT_S)
    assert failed.group_contains(RuntimeError, match="termination bug")


async def test_a_termination_the_runtime_refused_is_retried() -> None:
    attempts: list[str] = []

    async def sync(pod: Pod) -> float:
        return 60.0

    async def terminate(pod: Pod) -> None:
        attempts.append(pod_uid(pod))
        if len(attempts) == 1:
            raise Unavailable("runtime restarting")

    workers = PodWorkers(sync=sync, terminate=terminate)
    supervised = asyncio.create_task(workers.run())
    try:
        workers.update(make_pod())
        workers.remove("uid-1")
        await _until_terminated(workers)
    finally:
        supervised.cancel()
        with pytest.raises(asyncio.CancelledError):
            await supervised
    assert attempts == ["uid-1", "uid-1"]
