"""Reproducible OCI images: layers from declared entries and host trees, fixed mtimes and owners,
gzip without timestamps and canonical JSON, so the same recipe gives the same digests every run."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import json
import stat
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from shims.oci.content import Descriptor, sha256_digest
from shims.oci.manifest import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, descriptor_json

FIXED_MTIME = 0
FIXED_CREATED = "1970-01-01T00:00:00Z"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    """One path in a layer; exactly one of data, target (symlink), link (hardlink) or is_dir."""

    path: str
    data: bytes | None = None
    target: str = ""
    link: str = ""
    is_dir: bool = False
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def directory(path: str, *, mode: int = 0o755) -> Entry:
    return Entry(path=path, is_dir=True, mode=mode)


def file(path: str, data: bytes | str, *, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(
        path=path, data=data.encode() if isinstance(data, str) else data, mode=mode, uid=uid, gid=gid
    )


def symlink(path: str, target: str) -> Entry:
    return Entry(path=path, target=target, mode=0o777)


def hardlink(path: str, link: str) -> Entry:
    return Entry(path=path, link=link)


def host_file(path: str, source: Path, *, mode: int | None = None) -> Entry:
    return file(path, source.read_bytes(), mode=stat.S_IMODE(source.stat().st_mode) if mode is None else mode)


def host_tree(prefix: str, source: Path) -> list[Entry]:
    """Everything under ``source`` (files, dirs, symlinks) placed under ``prefix``."""
    entries = [directory(prefix)] if prefix.strip("/") else []
    for path in sorted(source.rglob("*")):
        inside = str(PurePosixPath(prefix) / path.relative_to(source).as_posix())
        if path.is_symlink():
            entries.append(symlink(inside, str(path.readlink())))
        elif path.is_dir():
            entries.append(directory(inside, mode=stat.S_IMODE(path.stat().st_mode)))
        else:
            entries.append(host_file(inside, path))
    return entries


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageRecipe:
    layers: tuple[tuple[Entry, ...], ...]
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = DEFAULT_ENV
    user: str = ""
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    stop_signal: str = ""
    architecture: str = "amd64"
    os: str = "linux"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltLayer:
    descriptor: Descriptor
    diff_id: str
    blob: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltImage:
    manifest: Descriptor
    manifest_bytes: bytes
    config: Descriptor
    config_bytes: bytes
    layers: tuple[BuiltLayer, ...]

    @property
    def image_id(self) -> str:
        return self.config.digest

    def blobs(self) -> list[tuple[Descriptor, bytes]]:
        return [(self.config, self.config_bytes), *((layer.descriptor, layer.blob) for layer in self.layers)]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltIndex:
    descriptor: Descriptor
    data: bytes
    images: tuple[BuiltImage, ...]


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def build_layer(entries: Iterable[Entry]) -> BuiltLayer:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in sorted(_with_parents(entries), key=lambda e: e.path):
            _add(archive, entry)
    tar_bytes = raw.getvalue()
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=FIXED_MTIME, filename="", compresslevel=6) as gz:
        gz.write(tar_bytes)
    blob = compressed.getvalue()
    descriptor = Descriptor(media_type=OCI_LAYER_GZIP, digest=sha256_digest(blob), size=len(blob))
    return BuiltLayer(
        descriptor=descriptor, diff_id="sha256:" + hashlib.sha256(tar_bytes).hexdigest(), blob=blob
    )


@functools.lru_cache(maxsize=32)
def _cached_layer(entries: tuple[Entry, ...]) -> BuiltLayer:
    return build_layer(entries)


def build_image(recipe: ImageRecipe) -> BuiltImage:
    layers = tuple(_cached_layer(entries) for entries in recipe.layers)
    config_bytes = canonical_json(_config_document(recipe, layers))
    config = Descriptor(media_type=OCI_CONFIG, digest=sha256_digest(config_bytes), size=len(config_bytes))
    manifest_bytes = canonical_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor_json(config),
        "layers": [descriptor_json(layer.descriptor) for layer in layers],
    })  # fmt: skip
    manifest = Descriptor(
        media_type=OCI_MANIFEST, digest=sha256_digest(manifest_bytes), size=len(manifest_bytes)
    )
    return BuiltImage(
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        config=config,
        config_bytes=config_bytes,
        layers=layers,
    )


def build_index(images: Iterable[tuple[BuiltImage, str, str]]) -> BuiltIndex:
    """An OCI index over ``(image, os, architecture)`` triples."""
    listed = list(images)
    data = canonical_json({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {**descriptor_json(image.manifest), "platform": {"os": os_name, "architecture": arch}}
            for image, os_name, arch in listed
        ],
    })  # fmt: skip
    descriptor = Descriptor(media_type=OCI_INDEX, digest=sha256_digest(data), size=len(data))
    return BuiltIndex(descriptor=descriptor, data=data, images=tuple(image for image, _, _ in listed))


def _config_document(recipe: ImageRecipe, layers: tuple[BuiltLayer, ...]) -> dict[str, Any]:
    config: dict[str, Any] = {"Env": list(recipe.env)}
    optional: dict[str, Any] = {
        "Entrypoint": list(recipe.entrypoint), "Cmd": list(recipe.cmd), "User": recipe.user,
        "WorkingDir": recipe.working_dir, "Labels": dict(recipe.labels), "StopSignal": recipe.stop_signal,
        "ExposedPorts": {port: {} for port in recipe.exposed_ports},
    }  # fmt: skip
    config.update({key: value for key, value in optional.items() if value})
    return {
        "created": FIXED_CREATED,
        "architecture": recipe.architecture,
        "os": recipe.os,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": FIXED_CREATED, "created_by": "tinykube images build"} for _ in layers],
    }


def _with_parents(entries: Iterable[Entry]) -> list[Entry]:
    by_path = {entry.path.strip("/"): entry for entry in entries}
    for path in list(by_path):
        for parent in PurePosixPath(path).parents:
            key = str(parent)
            if key != "." and key not in by_path:
                by_path[key] = directory(key)
    return [dataclasses.replace(entry, path=path) for path, entry in by_path.items()]


def _add(archive: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.path + ("/" if entry.is_dir else ""))
    info.mtime, info.uid, info.gid, info.mode = FIXED_MTIME, entry.uid, entry.gid, entry.mode
    info.uname = info.gname = ""
    if entry.is_dir:
        info.type = tarfile.DIRTYPE
    elif entry.target:
        info.type, info.linkname = tarfile.SYMTYPE, entry.target
    elif entry.link:
        info.type, info.linkname = tarfile.LNKTYPE, entry.link.strip("/")
    if entry.data is not None:
        info.size = len(entry.data)
        archive.addfile(info, io.BytesIO(entry.data))
    else:
        archive.addfile(info)
