"""The static pod source: a manifest directory, rescanned for added, changed and removed files."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from api.core.v1.manifest import ManifestError, load_pod, pod_to_dict
from api.core.v1.pod import Pod, Toleration
from api.core.v1.validation import validate_pod
from api.meta.errors import InvalidObjectError
from kubelet import labels as lbl
from kubelet.status import rfc3339

log = logging.getLogger(__name__)
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    pods: Mapping[str, Pod]
    errors: Mapping[str, str]


def static_pod(pod: Pod, *, node_name: str, source: Path, seen: float) -> Pod:
    """Renames ``<name>-<node>``, binds to the node and gives the UID/config hash the kubelet would."""
    hasher = hashlib.md5(usedforsecurity=False)
    hasher.update(f"host:{node_name}".encode())
    hasher.update(f"file:{source}".encode())
    hasher.update(json.dumps(pod_to_dict(pod), sort_keys=True).encode())
    uid = hasher.hexdigest()
    annotations = {
        **pod.metadata.annotations,
        lbl.CONFIG_HASH: uid,
        lbl.CONFIG_SOURCE: "file",
        lbl.CONFIG_SEEN: rfc3339(seen),
    }
    metadata = dataclasses.replace(
        pod.metadata, name=f"{pod.name}-{node_name}", uid=uid, annotations=annotations, self_link=None
    )
    tolerations = (*pod.spec.tolerations, Toleration(operator="Exists", effect="NoExecute"))
    spec = dataclasses.replace(pod.spec, node_name=node_name, tolerations=tolerations)
    return dataclasses.replace(pod, metadata=metadata, spec=spec)


def read_manifest(path: Path, *, node_name: str) -> Pod:
    decoded = load_pod(path.read_bytes())
    for unknown in decoded.unknown_fields:
        log.warning("%s: unknown field %r ignored", path, unknown)
    pod = static_pod(decoded.pod, node_name=node_name, source=path, seen=path.stat().st_mtime)
    errors = validate_pod(pod)
    if errors:
        raise InvalidObjectError(kind="Pod", name=pod.name, errors=errors)
    return pod


@dataclass(frozen=True, kw_only=True)
class _Parsed:
    """A file's parse, valid while its (inode, size, mtime) stay the same."""

    signature: tuple[int, int, int]
    pod: Pod | None = None
    error: str = ""


def _parse(path: Path, node_name: str, cache: dict[str, _Parsed]) -> _Parsed:
    info = path.stat()
    signature = (info.st_ino, info.st_size, info.st_mtime_ns)
    cached = cache.get(str(path))
    if cached is not None and cached.signature == signature:
        return cached
    try:
        parsed = _Parsed(signature=signature, pod=read_manifest(path, node_name=node_name))
    except (ManifestError, InvalidObjectError, OSError) as exc:
        parsed = _Parsed(signature=signature, error=str(exc))
    cache[str(path)] = parsed
    return parsed


def scan(directory: Path, *, node_name: str, cache: dict[str, _Parsed] | None = None) -> ScanResult:
    cache = {} if cache is None else cache
    pods: dict[str, Pod] = {}
    names: dict[tuple[str, str], Path] = {}
    errors: dict[str, str] = {}
    try:
        entries = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        return ScanResult(pods={}, errors={str(directory): str(exc)})
    for path in entries:
        if path.suffix not in MANIFEST_SUFFIXES:
            continue
        try:
            parsed = _parse(path, node_name, cache)
        except OSError as exc:
            errors[str(path)] = str(exc)
            continue
        if parsed.pod is None:
            errors[str(path)] = parsed.error
            continue
        pod = parsed.pod
        key = (pod.namespace, pod.name)
        if key in names:
            errors[str(path)] = f"duplicate pod {pod.namespace}/{pod.name}, already defined in {names[key]}"
            continue
        names[key] = path
        pods[pod.uid] = pod
    for stale in set(cache) - {str(p) for p in entries}:
        del cache[stale]
    return ScanResult(pods=pods, errors=errors)


class StaticPodSource:
    def __init__(
        self,
        directory: Path,
        *,
        node_name: str,
        on_update: Callable[[Mapping[str, Pod]], None],
        period_s: float,
    ) -> None:
        self.directory = directory
        self.node_name = node_name
        self.on_update = on_update
        self.period_s = period_s
        self.errors: Mapping[str, str] = {}
        self._reported: dict[str, str] = {}
        self._last: set[str] | None = None
        self._cache: dict[str, _Parsed] = {}

    async def scan_once(self) -> None:
        result = await asyncio.to_thread(scan, self.directory, node_name=self.node_name, cache=self._cache)
        for path, message in result.errors.items():
            if self._reported.get(path) != message:
                log.error("static pod manifest %s: %s", path, message)
        self._reported = dict(result.errors)
        self.errors = result.errors
        uids = set(result.pods)
        if uids != self._last:
            self._last = uids
            self.on_update(result.pods)

    async def run(self) -> None:
        while True:
            await self.scan_once()
            await asyncio.sleep(self.period_s)
