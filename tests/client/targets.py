"""The APIs tests run against: the FakeApi in process, the RestClient over HTTP to the FakeApi, and the
real apiserver (integration). The apiserver is listed as soon as ``api.server`` exists on the branch, so
a CI run cannot pass with it missing silently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from api.client.fake import FakeApi
from api.client.kubeconfig import load_kubeconfig
from api.client.protocol import Api
from api.client.rest import RestClient
from tests.client.fake_http import serving

Target = Callable[[Path], AbstractAsyncContextManager[Api]]


@asynccontextmanager
async def fake_target(tmp_path: Path) -> AsyncIterator[Api]:
    yield FakeApi()


@asynccontextmanager
async def rest_target(tmp_path: Path) -> AsyncIterator[Api]:
    async with serving(FakeApi()) as config, RestClient(config) as client:
        yield client


@asynccontextmanager
async def apiserver_target(tmp_path: Path) -> AsyncIterator[Api]:
    from tinykube.testbeds.apiserver import running_apiserver  # type: ignore[import-not-found,unused-ignore]

    async with (
        running_apiserver(tmp_path) as server,
        RestClient(load_kubeconfig(server.kubeconfig)) as client,
    ):
        yield client


# The apiserver of this checkout (an installed copy elsewhere on sys.path does not count).
APISERVER_AVAILABLE = (Path(__file__).resolve().parents[2] / "api" / "server" / "__init__.py").exists()
FAKE = pytest.param(fake_target, id="fake")
REST = pytest.param(rest_target, id="rest")
APISERVER = pytest.param(apiserver_target, id="apiserver", marks=pytest.mark.integration)


def targets(*unit: Any) -> list[Any]:
    return [*unit, APISERVER] if APISERVER_AVAILABLE else list(unit)


@asynccontextmanager
async def opened(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    target: Target = request.param
    async with target(tmp_path) as client:
        yield client
