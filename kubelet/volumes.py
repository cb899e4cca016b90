"""Pod volumes on the node: emptyDir (disk or tmpfs with sizeLimit), hostPath (type checks), downward API."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path

from api.core.v1.pods import all_containers, pod_uid, pod_volumes, volume_sources
from api.meta.quantity import whole_units
from api.model.core_v1 import Container, DownwardAPIVolumeSource, HostPathVolumeSource, Pod, Volume
from cri import domain as d
from kubelet.env import EnvError, PodFacts, field_value, resource_value

MOUNT_TIMEOUT_S = 10.0
_PROPAGATION = {
    "HostToContainer": d.MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
    "Bidirectional": d.MountPropagation.PROPAGATION_BIDIRECTIONAL,
}
_TYPE_CHECKS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


class VolumeError(Exception):
    """A volume cannot be set up; the message reads like the kubelet's FailedMount event."""


class VolumeManager:
    def __init__(self, root_dir: Path) -> None:
        self.root_dir = root_dir

    def pod_dir(self, uid: str) -> Path:
        return self.root_dir / "pods" / uid

    async def prepare(self, pod: Pod, facts: PodFacts) -> dict[str, Path]:
        """Sets every volume up (idempotent) and returns each volume's path on the host."""
        paths = {}
        for volume in pod_volumes(pod):
            try:
                paths[volume.name] = await self._prepare_one(pod, volume, facts)
            except (OSError, EnvError, VolumeError) as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{volume.name}" : {exc}') from exc
        return paths

    async def _prepare_one(self, pod: Pod, volume: Volume, facts: PodFacts) -> Path:
        if volume.host_path is not None:
            return await asyncio.to_thread(_host_path, volume.host_path)
        if volume.downward_api is not None:
            target = self.pod_dir(pod_uid(pod)) / "volumes" / "kubernetes.io~downward-api" / volume.name
            await asyncio.to_thread(_write_downward_api, target, pod, volume.downward_api, facts)
            return target
        if volume.empty_dir is not None:
            target = self.pod_dir(pod_uid(pod)) / "volumes" / "kubernetes.io~empty-dir" / volume.name
            await asyncio.to_thread(target.mkdir, mode=0o777, parents=True, exist_ok=True)
            await asyncio.to_thread(os.chmod, target, 0o777)
            if volume.empty_dir.medium == "Memory":
                await _mount_tmpfs(target, volume.empty_dir.size_limit)
            return target
        raise VolumeError(f"volume type {volume_sources(volume)} needs the apiserver")

    async def cleanup(self, uid: str) -> None:
        volumes = self.pod_dir(uid) / "volumes" / "kubernetes.io~empty-dir"
        if volumes.is_dir():
            for entry in volumes.iterdir():
                if await asyncio.to_thread(os.path.ismount, entry):
                    await _run("umount", str(entry))
        await asyncio.to_thread(shutil.rmtree, self.pod_dir(uid), True)


def _host_path(source: HostPathVolumeSource) -> Path:
    path = Path(source.path)
    kind = source.type or ""
    if kind == "DirectoryOrCreate":
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    elif kind == "FileOrCreate" and not path.exists():
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.touch(mode=0o644)
    check = _TYPE_CHECKS.get(kind.removesuffix("OrCreate"))
    if check is not None:
        predicate, noun = check
        try:
            mode = path.stat().st_mode
        except FileNotFoundError as exc:
            raise VolumeError(f"hostPath type check failed: {path} does not exist") from exc
        if not predicate(mode):
            raise VolumeError(f"hostPath type check failed: {path} is not {noun}")
    return path


def _write_downward_api(target: Path, pod: Pod, source: DownwardAPIVolumeSource, facts: PodFacts) -> None:
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    for item in source.items or ():
        if item.field_ref is not None:
            content = field_value(pod, item.field_ref, facts)
        elif item.resource_field_ref is not None:
            container = _container(pod, item.resource_field_ref.container_name or "")
            content = resource_value(pod, container, item.resource_field_ref)
        else:
            continue
        destination = (target / item.path).resolve()
        if not destination.is_relative_to(target.resolve()):
            raise VolumeError(f"downward API path {item.path!r} escapes the volume")
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary = destination.with_name(f".{destination.name}.tmp")
        temporary.write_text(content)
        os.chmod(temporary, item.mode if item.mode is not None else (source.default_mode or 0o644))
        os.replace(temporary, destination)


def _container(pod: Pod, name: str) -> Container:
    for container in all_containers(pod):
        if container.name == name:
            return container
    raise VolumeError(f"resourceFieldRef names unknown container {name!r}")


async def _mount_tmpfs(target: Path, size_limit: str | None) -> None:
    if await asyncio.to_thread(os.path.ismount, target):
        return
    options = "mode=0777" + (f",size={whole_units(size_limit)}" if size_limit else "")
    await _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target))


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), MOUNT_TIMEOUT_S)
    except TimeoutError as exc:
        process.kill()
        raise VolumeError(f"{argv[0]} timed out") from exc
    if process.returncode != 0:
        raise VolumeError(f"{' '.join(argv)}: {stderr.decode(errors='replace').strip()}")


def container_mounts(container: Container, volume_paths: Mapping[str, Path]) -> tuple[d.Mount, ...]:
    mounts = []
    for mount in container.volume_mounts or ():
        host = volume_paths[mount.name]
        if mount.sub_path:
            if mount.sub_path.startswith("/") or ".." in mount.sub_path.split("/"):
                raise VolumeError(
                    f"subPath {mount.sub_path!r} escapes {mount.name!r}: give a relative path without '..'"
                )
            sub = (host / mount.sub_path).resolve()
            if not sub.is_relative_to(host.resolve()):
                raise VolumeError(f"subPath {mount.sub_path!r} escapes volume {mount.name!r}")
            if not sub.exists():
                sub.mkdir(mode=0o755, parents=True)
            host = sub
        mounts.append(
            d.Mount(
                container_path=mount.mount_path,
                host_path=str(host),
                readonly=bool(mount.read_only),
                propagation=_PROPAGATION.get(
                    mount.mount_propagation or "", d.MountPropagation.PROPAGATION_PRIVATE
                ),
            )
        )
    return tuple(mounts)
