"""CreateContainer onto a full log filesystem: RESOURCE_EXHAUSTED naming the log directory, nothing left.

The pods' log directory is a tmpfs with two inodes (its root and the pod's directory), so the
container's log directory cannot be made: by then its rootfs is mounted, which must be undone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cri import domain as d
from cri.errors import ResourceExhausted
from tests.faults.tmpfs import resize, tmpfs
from tests.runc.scenario import container_config, pod_config
from tests.runc.test_leaks import host_counts
from tinykube.testbeds.runc_shim import Layout, remove_everything, serve

pytestmark = pytest.mark.integration


async def test_a_container_whose_log_directory_cannot_be_made_is_not_created(
    layout: Layout, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "logs", options="nr_inodes=2,size=1m") as logs:
        async with serve(layout.config, tmp_path / "full.sock") as (client, _):
            try:
                pod = pod_config("full-logs", logs)
                pod_id = await client.run_pod_sandbox(pod)
                before = await host_counts(layout)
                config = container_config("c", "sleep", "300")
                with pytest.raises(ResourceExhausted) as raised:
                    await client.create_container(pod_id, config, pod)
                log_dir = Path(pod.log_directory) / "c"
                assert raised.value.message.startswith("creating container ")
                assert raised.value.message.endswith(
                    f": write {log_dir}: no space left on device (filesystem {logs})"
                )
                assert await client.list_containers() == []
                after = await host_counts(layout)
                assert dataclasses.replace(after, files=0) == dataclasses.replace(before, files=0)

                resize(logs, "nr_inodes=64")
                container_id = await client.create_container(pod_id, config, pod)
                await client.start_container(container_id)
                status = (await client.container_status(container_id)).status
                assert status is not None and status.state == d.ContainerState.CONTAINER_RUNNING
            finally:
                await remove_everything(client)
