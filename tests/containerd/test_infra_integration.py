"""A pod's infra container runs from the pause image in the pod's pinned namespaces, keeps the pod's
metadata in containerd, and leaves nothing behind when removed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from cri.errors import NotFound
from shims.containerd.client import Client
from shims.containerd.images import ContainerdImages
from shims.containerd.infra import SANDBOX_KIND, InfraSpec, remove_infra, start_infra, stop_infra
from shims.containerd.lifecycle import KIND_LABEL
from shims.node import namespaces
from shims.node.ocispec import PodNamespaces

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("containerd", "registry")]

PAUSE = "registry.k8s.io/pause:3.10"


def namespace_of(pid: int, kind: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


async def test_the_infra_container_joins_the_pinned_namespaces_and_goes_without_a_trace(
    client: Client, images: ContainerdImages, tmp_path: Path
) -> None:
    pinned = await namespaces.pin(tmp_path / "ns", network=True, ipc=True, uts=True, hostname="pod-one")
    try:
        assert pinned.network is not None and pinned.ipc is not None and pinned.uts is not None
        spec = InfraSpec(
            sandbox_id="sandbox-1",
            sandbox_image=PAUSE,
            namespaces=PodNamespaces(
                network=str(pinned.network), ipc=str(pinned.ipc), uts=str(pinned.uts), pid=None
            ),
            cgroups_path=f"/{client.namespace}-sandbox-1",
            oom_score_adj_floor=int(await asyncio.to_thread(Path("/proc/self/oom_score_adj").read_text)),
            labels={"io.kubernetes.pod.name": "one"},
            extensions={"io.tinykube.sandbox": {"name": "one", "namespace": "default", "attempt": 0}},
        )
        pid = await start_infra(client, images, spec)
        for kind, path in (("net", pinned.network), ("ipc", pinned.ipc), ("uts", pinned.uts)):
            assert namespace_of(pid, kind) == os.stat(path).st_ino, kind
        assert namespace_of(pid, "pid") != namespace_of(os.getpid(), "pid")
        record = await client.containers.get("sandbox-1")
        assert record.labels[KIND_LABEL] == SANDBOX_KIND
        assert record.labels["io.kubernetes.pod.name"] == "one"
        assert record.extensions == spec.extensions
        assert (await client.tasks.get("sandbox-1")).status == "running"
        await stop_infra(client, "sandbox-1")
        await stop_infra(client, "sandbox-1")  # stopping twice is fine
        await remove_infra(client, "sandbox-1")
        await remove_infra(client, "sandbox-1")  # and removing twice
        with pytest.raises(NotFound):
            await client.containers.get("sandbox-1")
        assert [s.name for s in await client.snapshots.list() if s.kind == "active"] == []
    finally:
        await asyncio.to_thread(namespaces.unpin_paths, pinned.paths())
