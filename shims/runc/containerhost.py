"""A container's files on the host for conmon + runc: mounts, rootfs, OCI bundle; and their release."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
from pathlib import Path

from cri import domain as d
from cri.errors import Internal
from cri.exhaustion import writing
from shims.node import cgroups, mounts
from shims.node.conmon import ConmonContainer, ConmonSettings
from shims.node.ocispec import SpecInputs, build_spec
from shims.node.runc import Runc
from shims.node.specinputs import PodContext, RuntimeLimits, spec_inputs
from shims.runc.images import ImageSource, RuntimeImage
from shims.runc.paths import Paths
from shims.runc.records import ContainerRecord


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Prepared:
    user: d.LinuxContainerUser
    mounts: tuple[d.Mount, ...]


class ContainerHost:
    def __init__(
        self, *, paths: Paths, runc: Runc, conmon: ConmonSettings, images: ImageSource, runc_root: Path
    ) -> None:
        self.paths = paths
        self.runc = runc
        self.conmon = conmon
        self.images = images
        self._runc_root = runc_root
        self._limits = RuntimeLimits.of_this_process()

    def conmon_view(self, record: ContainerRecord) -> ConmonContainer:
        config = record.config
        return ConmonContainer(
            id=record.id,
            name=record.metadata.name,
            bundle=self.paths.bundle(record.id),
            log_path=record.log_path,
            exit_dir=self.paths.exit_dir,
            socket_dir=self.paths.socket_dir,
            tty=config.tty,
            stdin=config.stdin,
            stdin_once=config.stdin_once,
        )

    async def prepare(
        self, record: ContainerRecord, pod: PodContext, image: RuntimeImage, *, target_pid: int
    ) -> Prepared:
        """Everything CreateContainer can check and make before conmon: mounts, rootfs, OCI bundle."""
        resolved = tuple(
            [await self._resolve_mount(record, m, n) for n, m in enumerate(record.config.mounts)]
        )
        config = dataclasses.replace(record.config, mounts=resolved)
        with writing(f"creating container {record.id}", self.paths.bundle(record.id)):
            inputs = await asyncio.to_thread(self._write_bundle, record, config, pod, image, target_pid)
        user = d.LinuxContainerUser(
            uid=inputs.user.uid, gid=inputs.user.gid, supplemental_groups=inputs.user.additional_gids
        )
        return Prepared(user=user, mounts=resolved)

    async def _resolve_mount(self, record: ContainerRecord, mount: d.Mount, index: int) -> d.Mount:
        """A bind mount's host path resolved; an image volume mounted (read-only) and bound from there."""
        if mount.image is None:
            resolved = await asyncio.to_thread(mounts.resolve_host_path, mount.host_path)
            return dataclasses.replace(mount, host_path=resolved)
        image = await self.images.resolve(mount.image.image)
        directory = self.paths.image_volume_dir(record.id, index)
        host_path = await asyncio.to_thread(mounts.mount_image_volume, image.lower_dirs, directory=directory)
        return dataclasses.replace(mount, host_path=str(host_path), readonly=True)

    def _write_bundle(
        self,
        record: ContainerRecord,
        config: d.ContainerConfig,
        pod: PodContext,
        image: RuntimeImage,
        target_pid: int,
    ) -> SpecInputs:
        """Blocking: the overlay rootfs, ``config.json`` and the log directory."""
        rootfs = mounts.mount_overlay(image.lower_dirs, directory=self.paths.container_root(record.id))
        inputs = spec_inputs(
            config,
            image=image.process,
            rootfs=rootfs,
            pod=pod,
            cgroups_path=record.cgroups_path,
            limits=self._limits,
            target_pid=target_pid,
        )
        bundle = self.paths.bundle(record.id)
        bundle.mkdir(parents=True, exist_ok=True)
        (bundle / "config.json").write_text(json.dumps(build_spec(inputs)))
        if record.log_path:
            Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
        return inputs

    async def runc_state_exists(self, container_id: str) -> bool:
        return await asyncio.to_thread((self._runc_root / container_id).exists)

    async def release(self, record: ContainerRecord) -> None:
        """Free all a container holds on the host besides its record (at exit, so Remove has little left).

        runc's state and the cgroup, concurrently with the rootfs mount, writable layer, bundle, attach
        socket link and exit file: once the exit is recorded, nothing reads them again.
        """
        await asyncio.gather(self._delete_runc_state(record), asyncio.to_thread(self._remove_files, record))
        await self.images.layers_released()

    async def _delete_runc_state(self, record: ContainerRecord) -> None:
        if await self.runc_state_exists(record.id):
            with contextlib.suppress(Internal):
                await self.runc.delete(record.id)
        await asyncio.to_thread(cgroups.remove, record.cgroups_path)

    def _remove_files(self, record: ContainerRecord) -> None:
        """Blocking: the container's files and mount; what is already gone is fine."""
        root = self.paths.container_root(record.id)
        mounts.unmount_overlay(root / "rootfs")
        for volume in self.paths.image_volume_dirs(record.id):
            mounts.unmount_overlay(volume / "mnt")
        for directory in (root, self.paths.bundle(record.id)):
            shutil.rmtree(directory, ignore_errors=True)
        # conmon's socket "directory" is a symlink to the bundle.
        for path in (self.paths.socket_dir / record.id, self.paths.exit_dir / record.id):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
