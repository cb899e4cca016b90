"""RunPodSandbox onto a full state directory: RESOURCE_EXHAUSTED naming the record, nothing half-made.

The shim's state directory is a 1 MiB tmpfs, filled up once the shim has started; removing the filler
is the operator freeing space, after which the same shim runs the pod.
"""

from __future__ import annotations

import dataclasses
import errno
import re
from pathlib import Path

import pytest

from cri import domain as d
from cri.errors import ResourceExhausted
from tests.faults.tmpfs import tmpfs
from tests.runc.scenario import pod_config
from tests.runc.test_leaks import host_counts
from tinykube.testbeds.runc_shim import Layout, remove_everything, serve

pytestmark = pytest.mark.integration


def fill(directory: Path) -> Path:
    """Blocking: a file that takes all the space left on ``directory``'s filesystem."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


async def test_a_sandbox_whose_record_cannot_be_saved_is_not_made(layout: Layout, tmp_path: Path) -> None:
    state = layout.config.state_dir
    with tmpfs(state, options="size=1m,mode=0700"):
        async with serve(layout.config, tmp_path / "full.sock") as (client, runtime):
            try:
                before = await host_counts(layout)
                filler = fill(state)
                with pytest.raises(ResourceExhausted) as raised:
                    await client.run_pod_sandbox(pod_config("full-state", tmp_path / "logs"))
                record = re.escape(str(runtime.store.sandbox_dir))
                assert re.fullmatch(
                    rf"saving the record of (\w{{64}}): write {record}/\1\.json: "
                    rf"no space left on device \(filesystem {re.escape(str(state))}\)",
                    raised.value.message,
                )
                assert await client.list_pod_sandbox() == []
                assert list(runtime.store.sandbox_dir.iterdir()) == []
                filler.unlink()
                after = await host_counts(layout)
                assert dataclasses.replace(after, files=0) == dataclasses.replace(before, files=0)

                pod_id = await client.run_pod_sandbox(pod_config("room-again", tmp_path / "logs"))
                status = (await client.pod_sandbox_status(pod_id)).status
                assert status is not None and status.state == d.PodSandboxState.SANDBOX_READY
            finally:
                await remove_everything(client)
