"""After containerd restarts, the client serves again and its event stream says it is open again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shims.containerd.client import Event, ImageRecord, Subscribed, open_client
from shims.oci.content import Descriptor
from tests.containerd.private import private_containerd

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd")]

NAMESPACE = "tinykube-test-restart"
TARGET = Descriptor(media_type="application/octet-stream", digest="sha256:" + "0" * 64, size=1)


async def test_the_client_and_its_event_stream_come_back_after_containerd_restarts(tmp_path: Path) -> None:
    async with (
        private_containerd(tmp_path / "ctrd") as daemon,
        open_client(str(daemon.address), namespace=NAMESPACE) as client,
    ):
        await client.namespaces.create(NAMESPACE)
        stream = client.events(f'namespace=="{NAMESPACE}"')
        try:
            async with asyncio.timeout(60):
                assert isinstance(await anext(stream), Subscribed)
                await daemon.stop()
                await daemon.start()
                assert isinstance(await anext(stream), Subscribed)
                await client.images.create(ImageRecord(name="example.test/after:1", target=TARGET))
                event = await anext(stream)
        finally:
            await stream.aclose()
        assert isinstance(event, Event) and event.topic == "/images/create"
        assert [image.name for image in await client.images.list()] == ["example.test/after:1"]
