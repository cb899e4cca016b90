"""containerd's container records: id, image, runtime, OCI spec, snapshot, labels and extensions.

The shim keeps its own metadata in labels and extensions, so containerd holds the truth about every
sandbox and container.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.empty_pb2 import Empty
from google.protobuf.field_mask_pb2 import FieldMask

from shims.containerd._gen.services.containers.v1 import containers_pb2 as pb
from shims.containerd.client.connection import Connection, method_path
from shims.containerd.client.types import time_from_proto

SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
EXTENSION_TYPE_URL = "tinykube.io/json"
RUNC_V2 = "io.containerd.runc.v2"


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerRecord:
    id: str
    image: str = ""
    spec: Mapping[str, Any] = field(default_factory=dict)
    """The OCI runtime spec (config.json) as a JSON document."""
    runtime: str = RUNC_V2
    snapshotter: str = ""
    snapshot_key: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)
    """JSON documents by name, for metadata that does not fit in labels."""
    created_at: datetime | None = None


def _path(method: str) -> str:
    return method_path(pb.DESCRIPTOR, "Containers", method)


def _message(record: ContainerRecord) -> pb.Container:
    return pb.Container(
        id=record.id,
        image=record.image,
        labels=dict(record.labels),
        runtime=pb.Container.Runtime(name=record.runtime),
        spec=AnyMessage(type_url=SPEC_TYPE_URL, value=json.dumps(record.spec).encode()),
        snapshotter=record.snapshotter,
        snapshot_key=record.snapshot_key,
        extensions={
            name: AnyMessage(type_url=EXTENSION_TYPE_URL, value=json.dumps(document).encode())
            for name, document in record.extensions.items()
        },
    )


def _record(message: pb.Container) -> ContainerRecord:
    return ContainerRecord(
        id=message.id,
        image=message.image,
        spec=json.loads(message.spec.value or b"{}"),
        runtime=message.runtime.name,
        snapshotter=message.snapshotter,
        snapshot_key=message.snapshot_key,
        labels=dict(message.labels),
        extensions={
            name: json.loads(extension.value)
            for name, extension in message.extensions.items()
            if extension.type_url == EXTENSION_TYPE_URL
        },
        created_at=time_from_proto(message.created_at),
    )


class Containers:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def create(self, record: ContainerRecord) -> ContainerRecord:
        request = pb.CreateContainerRequest(container=_message(record))
        reply = await self._connection.unary(_path("Create"), request, pb.CreateContainerResponse)
        return _record(reply.container)

    async def get(self, container_id: str) -> ContainerRecord:
        request = pb.GetContainerRequest(id=container_id)
        reply = await self._connection.unary(_path("Get"), request, pb.GetContainerResponse)
        return _record(reply.container)

    async def list(self, *filters: str) -> list[ContainerRecord]:
        request = pb.ListContainersRequest(filters=list(filters))
        reply = await self._connection.unary(_path("List"), request, pb.ListContainersResponse)
        return [_record(container) for container in reply.containers]

    async def update(self, record: ContainerRecord, *fields: str) -> ContainerRecord:
        """Replace the named fields (``labels``, ``extensions``, ``spec``...) with ``record``'s."""
        request = pb.UpdateContainerRequest(
            container=_message(record), update_mask=FieldMask(paths=list(fields))
        )
        reply = await self._connection.unary(_path("Update"), request, pb.UpdateContainerResponse)
        return _record(reply.container)

    async def delete(self, container_id: str) -> None:
        await self._connection.unary(_path("Delete"), pb.DeleteContainerRequest(id=container_id), Empty)
