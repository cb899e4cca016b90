"""Pod volumes on the node (``kubelet.volumes``, owned by the kubelet engineer): what pod authors rely on."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from api.core.v1.manifest import load_pod
from api.core.v1.pods import pod_spec, pod_volumes
from api.model.core_v1 import DownwardAPIVolumeFile, Pod
from cri import domain as d
from kubelet.env import PodFacts
from kubelet.volumes import VolumeError, VolumeManager, container_mounts

FACTS = PodFacts(node_name="node1", host_ip="192.0.2.10")


def pod_with(volumes: list[dict[str, Any]], *, mounts: list[dict[str, Any]] | None = None) -> Pod:
    document = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "uid-1",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"owner": "team-a"},
        },
        "spec": {
            "volumes": volumes,
            "containers": [
                {
                    "name": "app",
                    "image": "busybox:1.36",
                    "volumeMounts": mounts or [],
                    "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
                },
                {"name": "side", "image": "busybox:1.36", "volumeMounts": mounts or []},
            ],
        },
    }
    return load_pod(json.dumps(document)).pod


@pytest.fixture
def manager(tmp_path: Path) -> VolumeManager:
    return VolumeManager(tmp_path / "kubelet")


def found_anywhere(root: Path, name: str) -> bool:
    return any(root.rglob(name))


def is_dir(path: str) -> bool:
    return Path(path).is_dir()


def tmpfs_size(path: Path) -> int | None:
    """The size of the tmpfs mounted at ``path``, None when nothing is mounted there."""
    if not os.path.ismount(path):
        return None
    usage = os.statvfs(path)
    return usage.f_blocks * usage.f_frsize


# emptyDir


async def test_empty_dir_is_a_writable_dir_under_the_pod_dir_and_setup_is_idempotent(
    manager: VolumeManager,
) -> None:
    pod = pod_with([{"name": "scratch", "emptyDir": {}}])
    paths = await manager.prepare(pod, FACTS)
    scratch = paths["scratch"]
    assert scratch.is_relative_to(manager.pod_dir("uid-1"))
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o777
    (scratch / "data").write_text("kept")
    assert await manager.prepare(pod, FACTS) == paths
    assert (scratch / "data").read_text() == "kept"


async def test_two_containers_share_one_empty_dir(manager: VolumeManager) -> None:
    pod = pod_with([{"name": "shared", "emptyDir": {}}], mounts=[{"name": "shared", "mountPath": "/data"}])
    paths = await manager.prepare(pod, FACTS)
    app, side = (container_mounts(c, paths) for c in pod_spec(pod).containers)
    assert app == side == (d.Mount(container_path="/data", host_path=str(paths["shared"])),)


async def test_cleanup_removes_the_pod_dir_and_can_repeat(manager: VolumeManager) -> None:
    pod = pod_with([{"name": "scratch", "emptyDir": {}}])
    await manager.prepare(pod, FACTS)
    await manager.cleanup("uid-1")
    assert not manager.pod_dir("uid-1").exists()
    await manager.cleanup("uid-1")


# hostPath


async def test_directory_or_create_creates_the_directory(manager: VolumeManager, tmp_path: Path) -> None:
    target = tmp_path / "host" / "cache"
    pod = pod_with([{"name": "h", "hostPath": {"path": str(target), "type": "DirectoryOrCreate"}}])
    paths = await manager.prepare(pod, FACTS)
    assert paths["h"] == target and target.is_dir()


async def test_file_or_create_creates_an_empty_file(manager: VolumeManager, tmp_path: Path) -> None:
    target = tmp_path / "host" / "app.lock"
    pod = pod_with([{"name": "h", "hostPath": {"path": str(target), "type": "FileOrCreate"}}])
    await manager.prepare(pod, FACTS)
    assert target.is_file() and target.read_bytes() == b""


def _host_objects(tmp_path: Path) -> dict[str, str]:
    directory = tmp_path / "dir"
    directory.mkdir()
    regular = tmp_path / "file"
    regular.write_text("x")
    return {
        "dir": str(directory),
        "file": str(regular),
        "char": "/dev/null",
        "missing": str(tmp_path / "nope"),
    }


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("Directory", "dir"),
        ("File", "file"),
        ("CharDevice", "char"),
        ("", "missing"),
        ("DirectoryOrCreate", "dir"),
        ("FileOrCreate", "file"),
    ],
)
async def test_host_path_type_check_passes(
    manager: VolumeManager, tmp_path: Path, kind: str, obj: str
) -> None:
    path = _host_objects(tmp_path)[obj]
    pod = pod_with([{"name": "h", "hostPath": {"path": path, "type": kind}}])
    assert (await manager.prepare(pod, FACTS))["h"] == Path(path)


@pytest.mark.parametrize(
    ("kind", "obj", "message"),
    [
        ("Directory", "missing", "does not exist"),
        ("Directory", "file", "is not a directory"),
        ("File", "dir", "is not a file"),
        ("Socket", "file", "is not a socket"),
        ("CharDevice", "file", "is not a character device"),
        ("BlockDevice", "char", "is not a block device"),
    ],
)
async def test_host_path_type_check_fails_naming_the_volume(
    manager: VolumeManager, tmp_path: Path, kind: str, obj: str, message: str
) -> None:
    pod = pod_with([{"name": "h", "hostPath": {"path": _host_objects(tmp_path)[obj], "type": kind}}])
    with pytest.raises(VolumeError, match=f'volume "h" .*{message}'):
        await manager.prepare(pod, FACTS)


async def test_socket_type_accepts_a_unix_socket(manager: VolumeManager, tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        pod = pod_with([{"name": "h", "hostPath": {"path": str(path), "type": "Socket"}}])
        assert (await manager.prepare(pod, FACTS))["h"] == path


async def test_host_path_is_never_removed_by_cleanup(manager: VolumeManager, tmp_path: Path) -> None:
    target = tmp_path / "host"
    target.mkdir()
    (target / "precious").write_text("x")
    pod = pod_with([{"name": "h", "hostPath": {"path": str(target)}}])
    await manager.prepare(pod, FACTS)
    await manager.cleanup("uid-1")
    assert (target / "precious").read_text() == "x"


# downward API


async def test_downward_api_writes_metadata_and_resource_files(manager: VolumeManager) -> None:
    items = [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}},
        {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
        {"path": "meta/labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "meta/annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {
            "path": "mem_limit",
            "resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"},
        },
        {
            "path": "cpu_limit",
            "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu", "divisor": "1m"},
        },
    ]
    pod = pod_with([{"name": "info", "downwardAPI": {"items": items}}])
    root = (await manager.prepare(pod, FACTS))["info"]
    assert (root / "name").read_text() == "web"
    assert (root / "namespace").read_text() == "shop"
    assert (root / "uid").read_text() == "uid-1"
    assert (root / "meta" / "labels").read_text() == 'app="web"\ntier="front"'
    assert (root / "meta" / "annotations").read_text() == 'owner="team-a"'
    assert (root / "mem_limit").read_text() == "64"
    assert (root / "cpu_limit").read_text() == "500"
    assert stat.S_IMODE((root / "name").stat().st_mode) == 0o644


async def test_downward_api_honours_item_and_default_modes(manager: VolumeManager) -> None:
    items = [
        {"path": "a", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "b", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o400},
    ]
    pod = pod_with([{"name": "info", "downwardAPI": {"items": items, "defaultMode": 0o440}}])
    root = (await manager.prepare(pod, FACTS))["info"]
    assert stat.S_IMODE((root / "a").stat().st_mode) == 0o440
    assert stat.S_IMODE((root / "b").stat().st_mode) == 0o400


async def test_downward_api_item_escaping_the_volume_is_refused(
    manager: VolumeManager, tmp_path: Path
) -> None:
    pod = pod_with(
        [
            {
                "name": "info",
                "downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "metadata.name"}}]},
            }
        ]
    )
    volume = pod_volumes(pod)[0]
    assert volume.downward_api is not None
    evil = DownwardAPIVolumeFile(path="../../../../escaped", field_ref=volume.downward_api.items[0].field_ref)
    bad_volume = volume.replace(downward_api=volume.downward_api.replace(items=(evil,)))
    bad_pod = pod.replace(spec=pod.spec.replace(volumes=(bad_volume,)))
    with pytest.raises(VolumeError, match="escapes"):
        await manager.prepare(bad_pod, FACTS)
    assert not found_anywhere(tmp_path, "escaped")


# mounts


async def test_sub_path_mounts_a_directory_inside_the_volume(manager: VolumeManager) -> None:
    mounts = [{"name": "shared", "mountPath": "/var/log/app", "subPath": "logs/app", "readOnly": True}]
    pod = pod_with([{"name": "shared", "emptyDir": {}}], mounts=mounts)
    paths = await manager.prepare(pod, FACTS)
    (mount,) = container_mounts(pod_spec(pod).containers[0], paths)
    assert mount.host_path == str(paths["shared"] / "logs" / "app") and is_dir(mount.host_path)
    assert mount.readonly and mount.container_path == "/var/log/app"


@pytest.mark.parametrize("sub_path", ["../../../etc", "/etc", "link-out/passwd"])
async def test_sub_path_can_never_escape_the_volume(
    manager: VolumeManager, tmp_path: Path, sub_path: str
) -> None:
    mounts = [{"name": "shared", "mountPath": "/x", "subPath": sub_path}]
    pod = pod_with([{"name": "shared", "emptyDir": {}}], mounts=mounts)
    paths = await manager.prepare(pod, FACTS)
    os.symlink("/etc", paths["shared"] / "link-out")
    with pytest.raises(VolumeError, match="escapes"):
        container_mounts(pod_spec(pod).containers[0], paths)


async def test_mount_propagation_maps_to_cri(manager: VolumeManager, tmp_path: Path) -> None:
    mounts = [{"name": "h", "mountPath": "/host", "mountPropagation": "HostToContainer"}]
    pod = pod_with([{"name": "h", "hostPath": {"path": str(tmp_path)}}], mounts=mounts)
    (mount,) = container_mounts(pod_spec(pod).containers[0], await manager.prepare(pod, FACTS))
    assert mount.propagation is d.MountPropagation.PROPAGATION_HOST_TO_CONTAINER


async def test_volume_kinds_that_need_the_apiserver_are_refused_with_a_reason(manager: VolumeManager) -> None:
    pod = pod_with([{"name": "cfg", "configMap": {"name": "settings"}}])
    with pytest.raises(VolumeError, match=r'volume "cfg".*apiserver'):
        await manager.prepare(pod, FACTS)


# emptyDir medium: Memory (tmpfs needs root)


@pytest.mark.integration
async def test_memory_empty_dir_is_a_tmpfs_of_size_limit_and_cleanup_unmounts_it(
    manager: VolumeManager,
) -> None:
    pod = pod_with([{"name": "ram", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}}])
    ram = (await manager.prepare(pod, FACTS))["ram"]
    try:
        assert tmpfs_size(ram) == 8 * 2**20
        await manager.prepare(pod, FACTS)
        assert tmpfs_size(ram) == 8 * 2**20
    finally:
        await manager.cleanup("uid-1")
    assert not is_dir(str(ram))


async def test_downward_api_quotes_annotation_values_like_the_kubelet(manager: VolumeManager) -> None:
    items = [{"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}}]
    pod = pod_with([{"name": "info", "downwardAPI": {"items": items}}])
    pod = pod.replace(metadata=pod.metadata.replace(annotations={"note": 'say "hi"\nbye'}))
    root = (await manager.prepare(pod, FACTS))["info"]
    assert (root / "annotations").read_text() == 'note="say \\"hi\\"\\nbye"'


async def test_sub_path_with_dot_dot_is_refused_even_inside_the_volume(manager: VolumeManager) -> None:
    mounts = [{"name": "shared", "mountPath": "/x", "subPath": "logs/../data"}]
    pod = pod_with([{"name": "shared", "emptyDir": {}}], mounts=mounts)
    paths = await manager.prepare(pod, FACTS)
    with pytest.raises(VolumeError, match=r"\.\."):
        container_mounts(pod_spec(pod).containers[0], paths)
