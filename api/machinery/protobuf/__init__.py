"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) as JSON-shaped dicts.

The body is ``k8s\\0`` + a ``runtime.Unknown`` envelope naming the apiVersion and kind, whose ``raw``
is the object in its k8s.io/api message. The messages come from ``k8s-v1.32.binpb`` (made by
``python -m tinykube.devtools.k8s_descriptors`` from kubectl's embedded descriptors). The conversion
follows the Go types' JSON: Time as RFC 3339, IntOrString as int or string, Quantity as its string,
RawExtension and FieldsV1 as embedded JSON, bytes as base64, unset strings and empty lists omitted.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_PACKAGES = {
    "": "core", "apps": "apps", "coordination.k8s.io": "coordination", "discovery.k8s.io": "discovery",
    "events.k8s.io": "events", "policy": "policy", "autoscaling": "autoscaling",
    "authentication.k8s.io": "authentication",
}
_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
# Go fields that are values (not pointers) with omitempty: their zero is "unset" in JSON.
OMITTED_ZEROS = frozenset({"minReadySeconds", "paused", "stdin", "stdinOnce", "tty", "hostIPC", "hostNetwork",
                           "hostPID", "generation", "nodePort", "hostPort", "readOnly", "restartCount"})


class ProtobufError(ValueError):
    """The body is not a Kubernetes protobuf object this server knows."""


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    data = resources.files(__package__).joinpath("k8s-v1.32.binpb").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        pool.Add(file)
    return pool


def _message_class(full_name: str) -> type[Message]:
    try:
        descriptor = _pool().FindMessageTypeByName(full_name)
    except KeyError as exc:
        raise ProtobufError(f"no protobuf message {full_name}") from exc
    return message_factory.GetMessageClass(descriptor)


def _type_name(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if kind in ("DeleteOptions", "Status") and group == "":
        return f"{_META}.{kind}"
    package = _PACKAGES.get(group)
    if package is None:
        raise ProtobufError(f"no protobuf messages for API group {group!r}")
    return f"k8s.io.api.{package}.{version}.{kind}"


def decode(body: bytes) -> dict[str, Any]:
    if not body.startswith(MAGIC):
        raise ProtobufError("the protobuf body does not start with the Kubernetes magic number")
    envelope = _message_class("k8s.io.apimachinery.pkg.runtime.Unknown")()
    try:
        envelope.ParseFromString(body[len(MAGIC):])
        type_meta = envelope.typeMeta  # type: ignore[attr-defined]
        api_version, kind = type_meta.apiVersion, type_meta.kind
        message = _message_class(_type_name(api_version, kind))()
        message.ParseFromString(envelope.raw)  # type: ignore[attr-defined]
    except DecodeError as exc:
        raise ProtobufError(f"the protobuf body is corrupt: {exc}") from exc
    obj = _message(message)
    return {"apiVersion": api_version, "kind": kind, **obj}


def _time(message: Message, *, micro: bool) -> str | None:
    seconds, nanos = message.seconds, message.nanos  # type: ignore[attr-defined]
    if not seconds and not nanos:
        return None
    when = dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(microseconds=nanos // 1000)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _special(message: Message) -> tuple[bool, Any]:
    name = message.DESCRIPTOR.full_name
    if name in (f"{_META}.Time", f"{_META}.MicroTime"):
        return True, _time(message, micro=name.endswith("MicroTime"))
    if name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        return True, message.intVal if message.type == 0 else message.strVal  # type: ignore[attr-defined]
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return True, message.string  # type: ignore[attr-defined]
    if name in ("k8s.io.apimachinery.pkg.runtime.RawExtension", f"{_META}.FieldsV1"):
        raw = message.raw if hasattr(message, "raw") else message.Raw  # type: ignore[attr-defined]
        return True, json.loads(raw) if raw else None
    if name == f"{_META}.Duration":
        return True, f"{message.duration / 1e9:g}s"  # type: ignore[attr-defined]
    return False, None


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _message(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


def _is_map(field: FieldDescriptor) -> bool:
    descriptor: Descriptor | None = field.message_type
    return bool(descriptor and descriptor.GetOptions().map_entry)


def _message(message: Message) -> Any:
    handled, value = _special(message)
    if handled:
        return value
    result: dict[str, Any] = {}
    for field, raw in message.ListFields():
        if _is_map(field):
            assert field.message_type is not None
            value_field = field.message_type.fields_by_name["value"]
            converted: Any = {key: _value(value_field, item) for key, item in raw.items()}
        elif field.is_repeated:
            converted = [_value(field, item) for item in raw]
        else:
            converted = _value(field, raw)
        if converted is None or converted == "" or converted == [] or (converted == {} and _is_map(field)):
            continue
        if field.name in OMITTED_ZEROS and converted in (0, False) and not isinstance(converted, dict):
            continue
        result[field.name] = converted
    return result
