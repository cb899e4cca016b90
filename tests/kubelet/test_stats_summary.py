"""/stats/summary has the kubelet's Summary API shape (stats/v1alpha1) and real numbers in it."""

from __future__ import annotations

import os
from pathlib import Path

from api.core.v1.pods import pod_uid
from kubelet.stats import SummaryProvider

from .conftest import NODE, Node

WITH_VOLUME = """
apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - name: scratch
    emptyDir: {}
"""
FS_KEYS = {"time", "availableBytes", "capacityBytes", "usedBytes", "inodesFree", "inodes", "inodesUsed"}


def _blocks(path: Path) -> int:
    return os.lstat(path).st_blocks * 512


async def test_node_part_has_the_summary_api_fields(node: Node) -> None:
    provider = SummaryProvider(node.kubelet)
    first = (await provider.summary())["node"]
    assert first["nodeName"] == NODE
    assert {"time", "usageCoreNanoSeconds"} <= set(first["cpu"])
    assert first["memory"]["availableBytes"] > 0 and first["memory"]["workingSetBytes"] > 0
    assert set(first["fs"]) == FS_KEYS and first["fs"]["capacityBytes"] > first["fs"]["availableBytes"]
    assert first["rlimit"]["maxpid"] >= first["rlimit"]["curproc"] > 0
    image_fs = await node.client.image_fs_info()
    assert first["runtime"]["imageFs"]["usedBytes"] == image_fs.image_filesystems[0].used_bytes
    [kubelet] = first["systemContainers"]
    assert kubelet["name"] == "kubelet" and kubelet["memory"]["rssBytes"] > 0
    second = (await provider.summary())["node"]
    assert "usageNanoCores" in second["cpu"] and "usageNanoCores" in second["systemContainers"][0]["cpu"]


async def test_pod_part_measures_logs_volumes_and_ephemeral_storage(node: Node) -> None:
    node.write("cache.yaml", WITH_VOLUME)
    await node.wait_phase("cache", "Running")
    pod = node.kubelet.find_pod("default", f"cache-{NODE}")
    assert pod is not None
    [sandbox] = node.runtime.sandboxes.values()
    log_file = Path(sandbox.config.log_directory) / "app" / "0.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_bytes(b"x" * 20000)
    scratch = node.kubelet.volumes.pod_dir(pod_uid(pod)) / "volumes" / "kubernetes.io~empty-dir" / "scratch"
    (scratch / "data").write_bytes(b"y" * 50000)

    [entry] = (await SummaryProvider(node.kubelet).summary())["pods"]
    assert entry["podRef"] == {"name": f"cache-{NODE}", "namespace": "default", "uid": pod_uid(pod)}
    assert entry["startTime"] == node.status("cache").start_time  # type: ignore[union-attr]
    [container] = entry["containers"]
    assert container["name"] == "app" and "startTime" in container
    assert {"cpu", "memory", "rootfs", "logs"} <= set(container)
    assert container["logs"]["usedBytes"] == _blocks(log_file.parent) + _blocks(log_file)
    assert set(container["logs"]) == FS_KEYS
    [volume] = entry["volume"]
    assert volume["name"] == "scratch" and volume["usedBytes"] == _blocks(scratch) + _blocks(scratch / "data")
    ephemeral = entry["ephemeral-storage"]
    assert (
        ephemeral["usedBytes"]
        == container["logs"]["usedBytes"] + volume["usedBytes"] + container["rootfs"]["usedBytes"]
    )
    assert entry["process_stats"] == {"process_count": 1}
    assert {"cpu", "memory"} <= set(entry)


async def test_a_restarted_container_is_summarised_once_as_its_current_instance(node: Node) -> None:
    node.write("cache.yaml", WITH_VOLUME)
    await node.wait_phase("cache", "Running")
    [first] = node.runtime.containers
    second = await node.crash_and_restart(first)
    listed = {s.attributes.id for s in await node.client.list_container_stats() if s.attributes}
    assert listed == {first, second}  # the runtime still lists the exited predecessor

    [entry] = (await SummaryProvider(node.kubelet).summary())["pods"]
    [container] = entry["containers"]
    assert container["name"] == "app" and {"cpu", "memory"} <= set(container)
