"""core/v1 Volume: the sources the node mounts itself are typed, the others kept as raw JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.core.v1.container import ObjectFieldSelector, ResourceFieldSelector
from api.meta.codec import Quantity, json_name


@dataclass(frozen=True, kw_only=True)
class EmptyDirVolumeSource:
    medium: str | None = None
    size_limit: Quantity | None = None


@dataclass(frozen=True, kw_only=True)
class HostPathVolumeSource:
    path: str = ""
    type: str | None = None


@dataclass(frozen=True, kw_only=True)
class DownwardAPIVolumeFile:
    path: str = ""
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    mode: int | None = None


@dataclass(frozen=True, kw_only=True)
class DownwardAPIVolumeSource:
    items: tuple[DownwardAPIVolumeFile, ...] = ()
    default_mode: int | None = None


@dataclass(frozen=True, kw_only=True)
class Volume:
    name: str = ""
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    downward_api: DownwardAPIVolumeSource | None = None
    config_map: Any = None
    secret: Any = None
    projected: Any = None
    persistent_volume_claim: Any = None
    ephemeral: Any = None
    csi: Any = None
    nfs: Any = None
    iscsi: Any = None
    image: Any = None
    git_repo: Any = None
    fc: Any = None
    rbd: Any = None
    cephfs: Any = None
    cinder: Any = None
    flex_volume: Any = None
    flocker: Any = None
    glusterfs: Any = None
    azure_disk: Any = None
    azure_file: Any = None
    aws_elastic_block_store: Any = None
    gce_persistent_disk: Any = None
    vsphere_volume: Any = None
    quobyte: Any = None
    photon_persistent_disk: Any = None
    portworx_volume: Any = None
    scale_io: Any = None
    storageos: Any = None

    def source_names(self) -> list[str]:
        """The JSON names of the sources set (a valid volume has exactly one)."""
        return [
            json_name(n) for n in self.__dataclass_fields__ if n != "name" and getattr(self, n) is not None
        ]
