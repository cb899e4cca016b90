"""The runc shim's state: one record per sandbox and per container, saved as JSON before each action."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from cri import domain as d
from cri import views
from cri.convert import from_proto, to_proto
from cri.v1 import api_pb2 as pb
from shims.node.infra import InfraProcess


@dataclass(frozen=True, kw_only=True, slots=True)
class SandboxRecord:
    id: str
    config: d.PodSandboxConfig
    runtime_handler: str
    created_at: int
    cgroup_parent: str
    netns: str = ""
    ipc_ns: str = ""
    uts_ns: str = ""
    ips: tuple[str, ...] = ()
    cni_result: Mapping[str, Any] = field(default_factory=dict)
    network_attached: bool = False
    ready: bool = True
    setting_up: bool = False
    """RunPodSandbox has not finished: after a crash the sandbox is torn down, never reported READY."""
    infra_pid: int = 0
    infra_start_time: int = 0

    @property
    def infra(self) -> InfraProcess | None:
        if not self.infra_pid:
            return None
        return InfraProcess(pid=self.infra_pid, start_time=self.infra_start_time)

    @property
    def metadata(self) -> d.PodSandboxMetadata:
        assert self.config.metadata is not None  # the servicer guarantees it
        return self.config.metadata

    @property
    def namespace_options(self) -> d.NamespaceOption:
        return views.namespace_options(self.config)

    @property
    def state(self) -> d.PodSandboxState:
        return views.sandbox_state(self)

    def view(self) -> d.PodSandbox:
        return views.sandbox_view(self)

    def status(self) -> d.PodSandboxStatus:
        return views.sandbox_status(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord:
    id: str
    sandbox_id: str
    config: d.ContainerConfig
    image_ref: str
    image_id: str
    log_path: str
    cgroups_path: str
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    pid: int = 0
    conmon_pid: int = 0
    resources: d.LinuxContainerResources | None = None
    user: d.LinuxContainerUser | None = None
    mounts: tuple[d.Mount, ...] = ()
    prepared: bool = False
    """Rootfs and bundle are made: conmon + ``runc create`` may run (again, after a restart)."""

    @property
    def metadata(self) -> d.ContainerMetadata:
        assert self.config.metadata is not None
        return self.config.metadata

    @property
    def state(self) -> d.ContainerState:
        return views.container_state(self)

    @property
    def creation_pending(self) -> bool:
        """CREATED for the CRI, but conmon + ``runc create`` have not finished yet."""
        return self.prepared and not self.conmon_pid and not self.finished_at

    def image_spec(self) -> d.ImageSpec:
        return self.config.image or d.ImageSpec()

    def view(self) -> d.Container:
        return views.container_view(self)

    def status(self) -> d.ContainerStatus:
        return d.ContainerStatus(
            id=self.id,
            metadata=self.metadata,
            state=self.state,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            exit_code=self.exit_code,
            image=self.image_spec(),
            image_ref=self.image_ref,
            reason=self.reason,
            message=self.message,
            labels=self.config.labels,
            annotations=self.config.annotations,
            mounts=self.mounts,
            log_path=self.log_path,
            resources=d.ContainerResources(linux=self.resources),
            image_id=self.image_id,
            user=d.ContainerUser(linux=self.user),
            stop_signal=self.config.stop_signal,
        )


_MESSAGES: dict[type[Any], Any] = {
    d.PodSandboxConfig: pb.PodSandboxConfig,
    d.ContainerConfig: pb.ContainerConfig,
    d.LinuxContainerResources: pb.LinuxContainerResources,
    d.LinuxContainerUser: pb.LinuxContainerUser,
    d.Mount: pb.Mount,
}


def _encode(value: Any) -> Any:
    if type(value) in _MESSAGES:
        return json_format.MessageToDict(to_proto(value, _MESSAGES[type(value)]))
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(cls: type[Any], value: Any) -> Any:
    return from_proto(json_format.ParseDict(value, _MESSAGES[cls]()), cls)


def dump(record: SandboxRecord | ContainerRecord) -> bytes:
    data = {f.name: _encode(getattr(record, f.name)) for f in dataclasses.fields(record)}
    return json.dumps(data).encode()


def load_sandbox(raw: bytes) -> SandboxRecord:
    data = json.loads(raw)
    data["config"] = _decode(d.PodSandboxConfig, data["config"])
    data["ips"] = tuple(data["ips"])
    return SandboxRecord(**data)


def load_container(raw: bytes) -> ContainerRecord:
    data = json.loads(raw)
    data["config"] = _decode(d.ContainerConfig, data["config"])
    for name, cls in (("resources", d.LinuxContainerResources), ("user", d.LinuxContainerUser)):
        data[name] = _decode(cls, data[name]) if data[name] is not None else None
    data["mounts"] = tuple(_decode(d.Mount, m) for m in data["mounts"])
    return ContainerRecord(**data)
