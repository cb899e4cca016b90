"""Store targets for the contract suite: memory and sqlite run by default, the etcd ones under integration."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.storage.etcd import EtcdOptions, EtcdStore
from api.storage.etcdserver import EtcdEndpoint
from api.storage.memory import MemoryStore
from api.storage.protocol import Store
from api.storage.sqlite import SQLiteOptions, SQLiteStore
from tests.storage.clusters import etcd_cluster

TARGETS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("etcd", id="etcd", marks=pytest.mark.integration),
    pytest.param("endpoint", id="endpoint", marks=pytest.mark.integration),
]


@contextlib.asynccontextmanager
async def open_target(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if name == "memory":
        async with MemoryStore() as memory:
            yield memory
    elif name == "sqlite":
        async with SQLiteStore(tmp_path / "db" / "state.db", SQLiteOptions(maintain=False)) as sqlite:
            yield sqlite
    else:
        opener: Callable[[], Any] = request.getfixturevalue(f"{name}_store_opener")
        async with opener() as remote:
            yield remote


@pytest.fixture(params=TARGETS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_target(request.param, request, tmp_path) as opened:
        yield opened


@pytest.fixture
def prefix() -> bytes:
    """A key prefix of its own for each test, so tests can share one etcd cluster."""
    return f"/contract/{uuid.uuid4().hex[:12]}/".encode()


@pytest.fixture(scope="session")
def etcd_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ...]]:
    with etcd_cluster(tmp_path_factory.mktemp("etcd")) as cluster:
        yield cluster.endpoints


@pytest.fixture
def etcd_store_opener(etcd_endpoints: tuple[str, ...]) -> Callable[[], EtcdStore]:
    return lambda: EtcdStore(EtcdOptions(endpoints=etcd_endpoints))


@contextlib.asynccontextmanager
async def _served_sqlite(data_dir: Path) -> AsyncIterator[EtcdStore]:
    """Our etcd endpoint over sqlite, driven through the etcd backend client."""
    async with SQLiteStore(data_dir / "state.db", SQLiteOptions(maintain=False)) as backing:
        endpoint = EtcdEndpoint(backing, listen="127.0.0.1:0")
        await endpoint.start()
        try:
            async with EtcdStore(EtcdOptions(endpoints=(endpoint.address,))) as client:
                yield client
        finally:
            await endpoint.stop(0)


@pytest.fixture
def endpoint_store_opener(tmp_path: Path) -> Callable[[], Any]:
    counter = iter(range(1_000_000))
    return lambda: _served_sqlite(tmp_path / f"endpoint-{next(counter)}")
