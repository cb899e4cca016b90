"""A CNI plugin that hangs: RunPodSandbox answers DEADLINE_EXCEEDED naming the step and undoes all it made.

The network is the test bed's bridge + portmap chain with a plugin that never answers appended, so by
the time it hangs the pod has a netns, its /dev/shm, a veth and an IP lease, all of which must go.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from cri import domain as d
from cri.errors import DeadlineExceeded
from tests.faults.hanging import HANGING_PLUGIN, until_gone
from tests.runc.scenario import pod_config
from tests.runc.test_leaks import host_counts
from tinykube.testbeds.runc_shim import Layout, cni_conflist, remove_everything, serve

pytestmark = pytest.mark.integration
TIMEOUT_SECONDS = 2.0


def _hanging_network(layout: Layout, bin_dir: Path, pids: Path) -> Path:
    """Installs the plugin and a network list that ends in it, first in the CNI config directory."""
    bin_dir.mkdir()
    (bin_dir / "hang").write_text(HANGING_PLUGIN.format(pids=pids))
    (bin_dir / "hang").chmod(0o755)
    network = cni_conflist(ipam_dir=layout.ipam_dir, network_name=layout.network_name)
    network["plugins"] = [*network["plugins"], {"type": "hang"}]  # type: ignore[misc]
    conf = layout.config.cni_conf_dir / "00-hanging.conflist"
    conf.write_text(json.dumps(network))
    return conf


def _mounts_under(base: Path) -> list[str]:
    return [line for line in Path("/proc/self/mounts").read_text().splitlines() if str(base) in line]


async def test_a_hung_cni_plugin_fails_the_sandbox_and_leaves_nothing(layout: Layout, tmp_path: Path) -> None:
    pids = tmp_path / "plugin.pids"
    conf = _hanging_network(layout, tmp_path / "cni-bin", pids)
    config = dataclasses.replace(
        layout.config,
        cni_bin_dirs=(tmp_path / "cni-bin", *layout.config.cni_bin_dirs),
        cni_plugin_timeout=TIMEOUT_SECONDS,
    )
    async with serve(config, tmp_path / "hung.sock") as (client, runtime):
        try:
            before = await host_counts(layout)
            with pytest.raises(DeadlineExceeded) as raised:
                await client.run_pod_sandbox(pod_config("hung", tmp_path / "logs"))
            assert raised.value.message == (
                f"CNI plugin hang ADD on network {layout.network_name!r} did not answer within 2s"
            )
            assert await client.list_pod_sandbox() == []
            assert _mounts_under(layout.base) == []
            assert list(runtime.store.sandbox_dir.iterdir()) == []
            assert list((config.state_dir / "sandboxes").iterdir()) == []
            after = await host_counts(layout)
            assert dataclasses.replace(after, files=0) == dataclasses.replace(before, files=0)
            assert await until_gone([int(pid) for pid in pids.read_text().split()]) == []

            conf.unlink()  # the plugin is fixed: the same shim runs pods again
            pod_id = await client.run_pod_sandbox(pod_config("after", tmp_path / "logs"))
            status = (await client.pod_sandbox_status(pod_id)).status
            assert status is not None and status.state == d.PodSandboxState.SANDBOX_READY
        finally:
            await remove_everything(client)
    assert _mounts_under(layout.base) == []
