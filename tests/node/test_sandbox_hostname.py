"""A pod without a hostname runs with the node's, however long its name (as containerd and CRI-O)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from cri import domain as d
from tests.node.conftest import Shim
from tests.runc.scenario import container_config, pod_config, run_container

pytestmark = pytest.mark.integration


async def test_a_long_named_pod_without_hostname_gets_the_nodes(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    base = pod_config("critest-style-" + "x" * 60, tmp_path / "logs")
    pod = dataclasses.replace(base, hostname="")
    assert pod.metadata is not None and len(pod.metadata.name) > 64
    pod_id = await client.run_pod_sandbox(pod)
    container_id = await run_container(client, pod_id, pod, container_config("c", "sleep", "300"))
    result = await client.exec_sync(
        container_id, ["sh", "-c", "hostname; cat /etc/hostname"], exec_timeout=10
    )
    assert result.stdout.decode().split() == [socket.gethostname()] * 2
    status = await client.pod_sandbox_status(pod_id)
    assert status.status is not None and status.status.state == d.PodSandboxState.SANDBOX_READY
