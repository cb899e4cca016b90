"""Targets of the client contract suite.

``fake`` is the FakeApi in process, ``rest`` the RestClient over HTTP to the FakeApi: both in the unit
run. ``apiserver`` is the RestClient against the real apiserver (integration); it is listed as soon as
``api.server`` exists on this branch, so CI cannot pass while it is missing silently.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from api.client.fake import FakeApi
from api.client.kubeconfig import load_kubeconfig
from api.client.protocol import Api
from api.client.rest import RestClient
from tests.client.fake_http import serving


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


TARGETS = [pytest.param(fake_target, id="fake"), pytest.param(rest_target, id="rest")]
if importlib.util.find_spec("api.server") is not None:
    TARGETS.append(pytest.param(apiserver_target, id="apiserver", marks=pytest.mark.integration))


@pytest.fixture(params=TARGETS)
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    target: Callable[[Path], AbstractAsyncContextManager[Api]] = request.param
    async with target(tmp_path) as client:
        yield client
