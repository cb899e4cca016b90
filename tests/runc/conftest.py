"""Fixtures for the runc shim tests (all integration: they need root, runc, conmon and CNI plugins)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cri.client import CRIClient
from shims.node import cgroups
from shims.runc.runtime import RuncRuntime
from tinykube.testbeds.runc_shim import Layout, build_rootfs, make_layout, remove_everything, serve


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rootfs(tmp_path_factory.mktemp("rootfs"))


@pytest.fixture
def layout(tmp_path: Path, rootfs: Path) -> Iterator[Layout]:
    """A layout with its own cgroup parent and CNI network name: host counts see only this test's."""
    token = secrets.token_hex(6)
    made = make_layout(
        tmp_path / "shim",
        rootfs=rootfs,
        cgroup_parent=f"/tinykube-test/{token}",
        network_name=f"tinykube-runc-test-{token}",
    )
    yield made
    cgroups.remove(made.config.cgroup_parent)


@pytest.fixture
async def shim(layout: Layout, tmp_path: Path) -> AsyncIterator[tuple[CRIClient, RuncRuntime]]:
    async with serve(layout.config, tmp_path / "runc.sock") as served:
        try:
            yield served
        finally:
            await remove_everything(served[0])
