"""Image records: what the store knows about one image, persisted as JSON (one file per image id)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shims.node.atomicfile import write_temporary
from shims.oci.content import Descriptor


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageRecord:
    id: str
    """``sha256:<hex>`` of the image config: PullImage's image_ref and ContainerStatus.image_id."""
    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]
    diff_ids: tuple[str, ...]
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()

    @property
    def chain_ids(self) -> tuple[str, ...]:
        return chain_ids(self.diff_ids)

    @property
    def size(self) -> int:
        return self.manifest.size + self.config.size + sum(layer.size for layer in self.layers)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "manifest": _descriptor_json(self.manifest),
            "config": _descriptor_json(self.config),
            "layers": [_descriptor_json(layer) for layer in self.layers],
            "diff_ids": list(self.diff_ids),
            "repo_tags": list(self.repo_tags),
            "repo_digests": list(self.repo_digests),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ImageRecord:
        return cls(
            id=document["id"],
            manifest=Descriptor(**document["manifest"]),
            config=Descriptor(**document["config"]),
            layers=tuple(Descriptor(**layer) for layer in document["layers"]),
            diff_ids=tuple(document["diff_ids"]),
            repo_tags=tuple(document["repo_tags"]),
            repo_digests=tuple(document["repo_digests"]),
        )


def chain_ids(diff_ids: tuple[str, ...]) -> tuple[str, ...]:
    """OCI ChainIDs: the identity of a layer together with everything under it."""
    found: list[str] = []
    for diff_id in diff_ids:
        if not found:
            found.append(diff_id)
        else:
            found.append("sha256:" + hashlib.sha256(f"{found[-1]} {diff_id}".encode()).hexdigest())
    return tuple(found)


class RecordFiles:
    """``<dir>/<id hex>.json``, each written atomically and durably (synced before and after the rename)."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)

    def load_all(self) -> list[ImageRecord]:
        records = []
        for path in sorted(self._dir.glob("*.json")):
            records.append(ImageRecord.from_json(json.loads(path.read_text())))
        return records

    def save(self, record: ImageRecord) -> None:
        temp = self._dir / f".{uuid.uuid4().hex}.tmp"
        write_temporary(temp, json.dumps(record.to_json(), indent=1).encode())
        os.replace(temp, self._path(record.id))
        self._sync_dir()

    def _sync_dir(self) -> None:
        descriptor = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def delete(self, image_id: str) -> None:
        self._path(image_id).unlink(missing_ok=True)

    def _path(self, image_id: str) -> Path:
        return self._dir / (image_id.removeprefix("sha256:") + ".json")


def _descriptor_json(descriptor: Descriptor) -> dict[str, Any]:
    return {"media_type": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}
