"""`kill -9` of the kubelet with 20 pods running, then a restart: nothing restarts, statuses match."""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cri.client import CRIClient
from tinykube.testbeds.kubelet_process import CONTAINERD, KubeletProcess, eventually, write_config

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]
PODS = 20
WAIT_S = 90.0
POD = """apiVersion: v1
kind: Pod
metadata: {{name: idle-{index}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
    command: ["sleep", "3600"]
    readinessProbe: {{exec: {{command: ["true"]}}, periodSeconds: 2}}
"""


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[KubeletProcess]:
    process = KubeletProcess(config=write_config(tmp_path), log=tmp_path / "kubelet.log")
    await process.start()
    try:
        yield process
    finally:
        for manifest in (tmp_path / "manifests").iterdir():
            manifest.unlink()
        if process.process is None or process.process.returncode is not None:
            await process.start()

        async def drained() -> bool:
            return not await process.pods() and "kubelet_pod_sandboxes 0.0" in await process.get("/metrics")

        try:
            await eventually(drained, "every pod terminated", WAIT_S)
        finally:
            await process.kill(signal.SIGTERM)


def _all_ready(pods: list[dict[str, Any]]) -> bool:
    return len(pods) == PODS and all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
        for p in pods
    )


async def _syncs(process: KubeletProcess) -> float:
    match = re.search(r"^kubelet_pod_syncs (\S+)$", await process.get("/metrics"), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def _our_containers(client: CRIClient, uids: set[str]) -> set[str]:
    containers = await client.list_containers()
    return {c.id for c in containers if c.labels.get("io.kubernetes.pod.uid") in uids}


async def test_sigkilled_kubelet_adopts_its_pods(kubelet: KubeletProcess, tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    for index in range(PODS):
        (manifests / f"idle-{index}.yaml").write_text(POD.format(index=index))

    async def all_ready() -> bool:
        return _all_ready(await kubelet.pods())

    await eventually(all_ready, f"{PODS} pods ready", WAIT_S)
    before = await kubelet.pods()
    uids = {p["metadata"]["uid"] for p in before}
    async with await CRIClient.connect(CONTAINERD, timeout=30) as client:
        containers_before = await _our_containers(client, uids)
        await kubelet.kill(signal.SIGKILL)
        await kubelet.start()

        async def synced_twice() -> bool:
            return await _syncs(kubelet) >= 2 * PODS

        await eventually(synced_twice, "two sync rounds after the restart", WAIT_S)
        after = await kubelet.pods()
        assert await _our_containers(client, uids) == containers_before
    assert len(containers_before) == PODS
    assert [p["status"] for p in after] == [p["status"] for p in before]
    assert all(c["restartCount"] == 0 for p in after for c in p["status"]["containerStatuses"])
