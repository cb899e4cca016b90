"""After a restart the shim reads back from containerd what it made: kinds, metadata and task states,
including exits that happened while it was not looking."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shims.containerd import lifecycle
from shims.containerd.client import Client, ContainerRecord
from shims.containerd.images import ContainerdImages
from shims.containerd.inventory import inventory
from tests.containerd.test_tasks_integration import busybox_spec

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]


async def test_records_and_task_states_come_back_from_containerd(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    for name, command in (("done", ("sh", "-c", "exit 3")), ("never-started", ("true",))):
        image_id, chain_id, spec = await busybox_spec(client, images, name, command)
        metadata = {"name": name, "attempt": 0}
        await lifecycle.create(
            client,
            lifecycle.ContainerSpec(
                container_id=name, image_id=image_id, chain_id=chain_id, spec=spec,
                labels={"io.kubernetes.container.name": name}, extensions={"io.tinykube.container": metadata},
            ),
        )  # fmt: skip
    await client.containers.create(ContainerRecord(id="not-ours", spec={}))  # made by someone else
    started = await lifecycle.start(client, "done", fifo_dir=tmp_path, log_path=None, tty=False)
    async with asyncio.timeout(30):
        await started.copy
        await client.tasks.wait("done")
    held = {item.record.id: item for item in await inventory(client)}
    assert set(held) == {"done", "never-started"}
    assert held["done"].kind == "container"
    assert held["done"].record.extensions == {"io.tinykube.container": {"name": "done", "attempt": 0}}
    assert held["done"].task is not None
    assert (held["done"].task.status, held["done"].task.exit_status) == ("stopped", 3)
    assert held["never-started"].task is None
    await lifecycle.remove(client, "done", fifos=started.fifos)
