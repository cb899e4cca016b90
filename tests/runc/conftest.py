"""Fixtures for the runc shim tests (all integration: they need root, runc, conmon and CNI plugins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cri.client import CRIClient
from shims.runc.runtime import RuncRuntime
from tests.runc.endpoint import Layout, build_rootfs, make_layout, remove_everything, serve


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rootfs(tmp_path_factory.mktemp("rootfs"))


@pytest.fixture
def layout(tmp_path: Path, rootfs: Path) -> Layout:
    return make_layout(tmp_path / "shim", rootfs=rootfs)


@pytest.fixture
async def shim(layout: Layout, tmp_path: Path) -> AsyncIterator[tuple[CRIClient, RuncRuntime]]:
    async with serve(layout.config, tmp_path / "runc.sock") as served:
        try:
            yield served
        finally:
            await remove_everything(served[0])
