"""An in-process apiserver over the memory store, and an HTTPS client authenticated as its admin."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from api.server.tls import client_context
from tinykube.testbeds.apiserver import RunningApiServer, running_apiserver


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": content_type, **(headers or {})}
        payload = io.BytesIO(data) if data is not None else None
        async with self.session.request(method, self.url + path, data=payload, headers=sent) as response:
            text = await response.read()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text.decode()
            return Reply(response.status, parsed, dict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return await self.request("POST", path, body, **kwargs)

    async def put(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return await self.request("PUT", path, body, **kwargs)

    async def patch(self, path: str, body: Any, content_type: str, **kwargs: Any) -> Reply:
        return await self.request("PATCH", path, body, content_type=content_type, **kwargs)

    async def delete(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, body, **kwargs)


@pytest.fixture
async def apiserver(tmp_path: Path) -> AsyncIterator[RunningApiServer]:
    async with running_apiserver(tmp_path) as running:
        yield running


@pytest.fixture
async def client(apiserver: RunningApiServer) -> AsyncIterator[Client]:
    connector = aiohttp.TCPConnector(ssl=client_context(apiserver.pki))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Client(session, apiserver.url)


def pod(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    image: str = "busybox:1.36",
    namespace: str | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "main", "image": image}]},
    }
