"""Domain values the containerd client takes and returns (protobuf stays in the client's modules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from shims.containerd._gen.types import descriptor_pb2, mount_pb2
from shims.oci.content import Descriptor


@dataclass(frozen=True, kw_only=True, slots=True)
class Mount:
    type: str
    source: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ContentInfo:
    digest: str
    size: int
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageRecord:
    """An image in containerd's image service: a name pointing at a manifest (or index)."""

    name: str
    target: Descriptor
    labels: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SnapshotInfo:
    name: str
    parent: str
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """One envelope of containerd's event stream; ``payload`` is the decoded event message."""

    timestamp: datetime
    namespace: str
    topic: str
    payload: Message


def descriptor_from_proto(message: descriptor_pb2.Descriptor) -> Descriptor:
    return Descriptor(media_type=message.media_type, digest=message.digest, size=message.size)


def descriptor_to_proto(descriptor: Descriptor) -> descriptor_pb2.Descriptor:
    return descriptor_pb2.Descriptor(
        media_type=descriptor.media_type, digest=descriptor.digest, size=descriptor.size
    )


def mount_from_proto(message: mount_pb2.Mount) -> Mount:
    return Mount(type=message.type, source=message.source, options=tuple(message.options))


def mount_to_proto(mount: Mount) -> mount_pb2.Mount:
    return mount_pb2.Mount(type=mount.type, source=mount.source, options=list(mount.options))


def time_from_proto(stamp: Timestamp) -> datetime | None:
    """None for an unset time (Go's zero time is year 1)."""
    return stamp.ToDatetime().astimezone() if stamp.seconds > 0 else None
