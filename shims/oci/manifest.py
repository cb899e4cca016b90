"""OCI and Docker schema2 manifests, indexes and image configs: parsing and platform selection."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cri.errors import FailedPrecondition, NotFound
from shims.oci.content import Descriptor

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
GZIP_LAYERS = (OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, DOCKER_LAYER_FOREIGN)
PLAIN_LAYERS = (OCI_LAYER, "application/vnd.docker.image.rootfs.diff.tar")

DEFAULT_PLATFORM = ("linux", "amd64")


class UnsupportedContent(FailedPrecondition):
    """A manifest, media type or platform we cannot run."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageConfig:
    """The parts of an image config a runtime uses; ``raw`` is the whole document."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    user: str = ""
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    stop_signal: str = ""
    diff_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


def media_type_of(data: bytes, header: str = "") -> str:
    document = _load(data, "manifest")
    declared = document.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if "manifests" in document:
        return OCI_INDEX
    if header and header.split(";")[0].strip() in (*MANIFEST_TYPES, *INDEX_TYPES):
        return header.split(";")[0].strip()
    return OCI_MANIFEST


def parse_manifest(data: bytes, media_type: str) -> Manifest:
    document = _load(data, "manifest")
    if media_type not in MANIFEST_TYPES:
        raise UnsupportedContent(f"unsupported manifest media type {media_type!r}")
    layers = tuple(_descriptor(layer) for layer in document.get("layers", ()))
    for layer in layers:
        if layer.media_type not in (*GZIP_LAYERS, *PLAIN_LAYERS):
            raise UnsupportedContent(f"unsupported layer media type {layer.media_type!r}")
    return Manifest(media_type=media_type, config=_descriptor(document.get("config", {})), layers=layers)


def select_platform(data: bytes, *, platform: tuple[str, str] = DEFAULT_PLATFORM) -> Descriptor:
    """The manifest for ``platform`` (linux/amd64) from an index or manifest list."""
    document = _load(data, "index")
    wanted_os, wanted_arch = platform
    for entry in document.get("manifests", ()):
        found = entry.get("platform", {})
        if found.get("os") == wanted_os and found.get("architecture") == wanted_arch:
            return _descriptor(entry)
    raise NotFound(f"no manifest for platform {wanted_os}/{wanted_arch} in the image index")


def parse_config(data: bytes) -> ImageConfig:
    document = _load(data, "image config")
    config = document.get("config") or {}
    rootfs = document.get("rootfs") or {}
    return ImageConfig(
        entrypoint=tuple(config.get("Entrypoint") or ()),
        cmd=tuple(config.get("Cmd") or ()),
        env=tuple(config.get("Env") or ()),
        user=config.get("User") or "",
        working_dir=config.get("WorkingDir") or "",
        labels=dict(config.get("Labels") or {}),
        exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        stop_signal=config.get("StopSignal") or "",
        diff_ids=tuple(rootfs.get("diff_ids") or ()),
        raw=document,
    )


def descriptor_json(descriptor: Descriptor) -> dict[str, Any]:
    return {"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}


def _descriptor(entry: Mapping[str, Any]) -> Descriptor:
    try:
        return Descriptor(
            media_type=str(entry["mediaType"]), digest=str(entry["digest"]), size=int(entry["size"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedContent(f"malformed descriptor {dict(entry)!r}: {exc}") from None


def _load(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise UnsupportedContent(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UnsupportedContent(f"{what} is not a JSON object")
    return document
