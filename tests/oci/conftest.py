"""Fixtures for the OCI tests: private docker-registry instances on free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shims.oci.localregistry import RegistryHandle, RegistrySettings, running_registry

USER, PASSWORD = "tinykube", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[RegistryHandle]:
    settings = RegistrySettings(address=f"127.0.0.1:{free_port()}", state_dir=tmp_path / "registry")
    async with running_registry(settings) as handle:
        yield handle


@pytest.fixture
async def second_registry(tmp_path: Path) -> AsyncIterator[RegistryHandle]:
    settings = RegistrySettings(address=f"127.0.0.1:{free_port()}", state_dir=tmp_path / "registry2")
    async with running_registry(settings) as handle:
        yield handle


@pytest.fixture
async def auth_registry(tmp_path: Path) -> AsyncIterator[RegistryHandle]:
    settings = RegistrySettings(
        address=f"127.0.0.1:{free_port()}", state_dir=tmp_path / "auth-registry", htpasswd={USER: PASSWORD}
    )
    async with running_registry(settings) as handle:
        yield handle
