"""A `kill -9` of the apiserver while 16 clients write loses no acknowledged write (SQLite)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from api.server.tls import client_context
from tinykube.testbeds.apiserver import apiserver_process

pytestmark = pytest.mark.integration
WRITERS = 16
ACKED_BEFORE_KILL = 300


async def _write_until_killed(
    session: aiohttp.ClientSession, url: str, index: int, acked: list[str], enough: asyncio.Event
) -> None:
    count = 0
    while True:
        name = f"w{index}-{count}"
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {"n": str(count)},
        }
        try:
            async with session.post(f"{url}/api/v1/namespaces/default/configmaps", json=body) as response:
                await response.read()
                if response.status != 201:
                    return
        except aiohttp.ClientError:
            return
        acked.append(name)
        count += 1
        if len(acked) >= ACKED_BEFORE_KILL:
            enough.set()


async def test_kill_9_during_16_writers_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data_dir = tmp_path / "apiserver"
    acked: list[str] = []
    async with apiserver_process(data_dir) as server:
        connector = aiohttp.TCPConnector(ssl=client_context(server.pki), limit=WRITERS)
        async with aiohttp.ClientSession(connector=connector) as session:
            enough = asyncio.Event()
            writers = [
                asyncio.create_task(_write_until_killed(session, server.url, i, acked, enough))
                for i in range(WRITERS)
            ]
            await asyncio.wait_for(enough.wait(), 120)
            server.process.send_signal(signal.SIGKILL)
            await server.process.wait()
            await asyncio.wait_for(asyncio.gather(*writers), 60)
    survived: set[str] = set()
    async with apiserver_process(data_dir) as restarted:
        connector = aiohttp.TCPConnector(ssl=client_context(restarted.pki))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(f"{restarted.url}/api/v1/namespaces/default/configmaps") as response,
        ):
            survived = {item["metadata"]["name"] for item in (await response.json())["items"]}
    lost = [name for name in acked if name not in survived]
    assert len(acked) >= ACKED_BEFORE_KILL
    assert lost == []
