"""A CNI plugin that never answers is bounded: DEADLINE_EXCEEDED naming the step, nothing of it left."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from shims.node import cni
from tests.faults.hanging import HANGING_PLUGIN, until_gone


@pytest.fixture
def hanging(tmp_path: Path) -> tuple[cni.NetworkList, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    plugin = bin_dir / "hang"
    plugin.write_text(HANGING_PLUGIN.format(pids=tmp_path / "pids"))
    plugin.chmod(0o755)
    conf = {"cniVersion": "1.0.0", "name": "stuck", "plugins": [{"type": "hang"}]}
    source = tmp_path / "10-stuck.conflist"
    source.write_text(json.dumps(conf))
    network = cni.find_network(tmp_path)
    assert network is not None
    return network, bin_dir


ATTACHMENT = cni.Attachment(container_id="c" * 64, netns="", pod_name="p", pod_namespace="default")


@pytest.mark.parametrize("command", ["ADD", "DEL"])
async def test_a_hung_plugin_is_killed_with_what_it_started(
    hanging: tuple[cni.NetworkList, Path], tmp_path: Path, command: str
) -> None:
    network, bin_dir = hanging
    with pytest.raises(cni.CNITimeout) as raised:
        if command == "ADD":
            await cni.add(network, ATTACHMENT, bin_dirs=(bin_dir,), timeout=2.0)
        else:
            await cni.delete(network, ATTACHMENT, bin_dirs=(bin_dir,), prev_result=None, timeout=2.0)
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert raised.value.message == f"CNI plugin hang {command} on network 'stuck' did not answer within 2s"
    pids = [int(line) for line in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 2
    assert await until_gone(pids) == []
