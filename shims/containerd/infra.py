"""A pod's infra container: a containerd container and task from the pause image, in the pod's
namespaces, with the pod's metadata in its labels and extensions so containerd holds the truth.

It has no stdio (as containerd's CRI gives its sandboxes none) and joins namespaces the caller has
pinned (shims/node); it gets a PID namespace of its own, which the pod's containers may share.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cri import domain as d
from cri.errors import NotFound
from shims.containerd.client import Client, ContainerRecord, Stdio
from shims.containerd.images import ContainerdImages
from shims.containerd.lifecycle import KIND_LABEL
from shims.node.identity import resolve_user
from shims.node.ocispec import ImageProcess, PodNamespaces, SpecInputs, build_spec

SANDBOX_KIND = "sandbox"
STOP_WAIT_S = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class InfraSpec:
    sandbox_id: str
    sandbox_image: str
    namespaces: PodNamespaces
    """Paths of the pinned pod namespaces to join (``pid`` None: a new one)."""
    cgroups_path: str
    oom_score_adj_floor: int
    labels: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)


async def start_infra(client: Client, images: ContainerdImages, spec: InfraSpec) -> int:
    """Create and start the infra container (pulling the pause image if needed); its pid."""
    image = await images.find(spec.sandbox_image)
    if image is None:
        await images.pull_image(d.ImageSpec(image=spec.sandbox_image), None, None)
        image = await images.find(spec.sandbox_image)
        assert image is not None
    config = image.target.config
    oci = build_spec(
        SpecInputs(
            config=d.ContainerConfig(metadata=d.ContainerMetadata(name="POD")),
            image=ImageProcess(
                entrypoint=config.entrypoint, cmd=config.cmd, env=config.env, user=config.user
            ),
            user=resolve_user(None, image_user=config.user, passwd_text="", group_text=""),
            rootfs="rootfs",
            hostname="",
            namespaces=spec.namespaces,
            pod_files=None,
            cgroups_path=spec.cgroups_path,
            oom_score_adj_floor=spec.oom_score_adj_floor,
        )
    )
    async with client.leases.held():  # the snapshot is the GC's until the record names it
        mounts = await client.snapshots.prepare(spec.sandbox_id, image.target.chain_id)
        await client.containers.create(
            ContainerRecord(
                id=spec.sandbox_id,
                image=image.target.id,
                spec=oci,
                snapshotter=client.snapshots.snapshotter,
                snapshot_key=spec.sandbox_id,
                labels={**spec.labels, KIND_LABEL: SANDBOX_KIND},
                extensions=spec.extensions,
            )
        )
    await client.tasks.create(spec.sandbox_id, Stdio(), rootfs=mounts)
    return await client.tasks.start(spec.sandbox_id)


async def stop_infra(client: Client, sandbox_id: str) -> None:
    """Kill the infra process and delete its task; an infra already gone is fine."""
    with contextlib.suppress(NotFound):
        state = await client.tasks.get(sandbox_id)
        if state.status != "stopped":
            exited = asyncio.ensure_future(client.tasks.wait(sandbox_id))
            try:
                await client.tasks.kill(sandbox_id, signal.SIGKILL, every_process=True)
                await asyncio.wait_for(exited, STOP_WAIT_S)
            finally:
                exited.cancel()
        await client.tasks.delete(sandbox_id)


async def remove_infra(client: Client, sandbox_id: str) -> None:
    """Stop it, then delete its container record and writable snapshot."""
    await stop_infra(client, sandbox_id)
    with contextlib.suppress(NotFound):
        await client.containers.delete(sandbox_id)
    with contextlib.suppress(NotFound):
        await client.snapshots.remove(sandbox_id)
