"""The containerd shim's records: the CRI view of each sandbox and container, kept in memory and in
the extension of its containerd container, so containerd holds the truth a restart rebuilds from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cri import domain as d
from cri import views
from cri.domain.jsoncodec import decode, encode
from cri.records import ContainerRecordBase, SandboxRecordBase

EXTENSION = "io.tinykube.cri"


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord(SandboxRecordBase):
    cgroup_parent: str
    netns: str = ""
    ipc_ns: str = ""
    uts_ns: str = ""
    cni_result: Mapping[str, Any] = field(default_factory=dict)
    network_attached: bool = False
    setting_up: bool = False
    infra_pid: int = 0

    @property
    def listed(self) -> bool:
        return not self.setting_up

    @property
    def namespace_options(self) -> d.NamespaceOption:
        return views.namespace_options(self.config)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord(ContainerRecordBase):
    image_id: str
    cgroups_path: str
    pid: int = 0
    mounts: tuple[d.Mount, ...] = ()
    upper_dir: str = ""
    """The writable layer of its snapshot, where its disk usage is counted."""

    def image_spec(self) -> d.ImageSpec:
        return self.config.image or d.ImageSpec()


def extension_of(record: SandboxRecord | ContainerRecord) -> dict[str, Any]:
    """The record as its containerd container's extension."""
    return {EXTENSION: encode(record)}


def sandbox_from(extensions: Mapping[str, Any]) -> SandboxRecord | None:
    document = extensions.get(EXTENSION)
    return None if document is None else decode(SandboxRecord, document)


def container_from(extensions: Mapping[str, Any]) -> ContainerRecord | None:
    document = extensions.get(EXTENSION)
    return None if document is None else decode(ContainerRecord, document)
