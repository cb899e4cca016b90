"""A runc shim in this process for the node-level integration tests (root, runc, conmon, CNI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cri.client import CRIClient
from shims.runc.runtime import RuncRuntime
from tinykube.testbeds.runc_shim import build_rootfs, make_layout, remove_everything, serve

Shim = tuple[CRIClient, RuncRuntime]


@pytest.fixture
async def shim(tmp_path: Path) -> AsyncIterator[Shim]:
    rootfs = await asyncio.to_thread(build_rootfs, tmp_path / "rootfs")
    layout = await asyncio.to_thread(make_layout, tmp_path / "shim", rootfs=rootfs)
    async with serve(layout.config, tmp_path / "runc.sock") as served:
        try:
            yield served
        finally:
            await remove_everything(served[0])
