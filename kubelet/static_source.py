"""The static pod source: a manifest directory watched (inotify) for added, changed and removed files.

Every change notification, and every ``fileCheckFrequency`` as a safety net, rescans the directory;
files are re-parsed only when their (inode, size, mtime) change. Symlinks are followed, so a
Kubernetes-style ``..data`` swap (a rename inside the directory) is one change. A file that does not
parse while it is still being written (modified less than ``SETTLE_S`` ago) keeps its last good pod
and is looked at again once it settles, instead of stopping the pod on a half-written manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asyncinotify import Inotify, Mask, Watch

from api.core.v1.manifest import ManifestError, load_pod, pod_to_dict
from api.core.v1.pods import annotations_of, pod_meta, pod_name, pod_namespace, pod_spec, pod_uid
from api.core.v1.validation import validate_pod
from api.meta.errors import InvalidObjectError
from api.model.core_v1 import Pod, Toleration
from kubelet import labels as lbl
from kubelet.status import rfc3339

log = logging.getLogger(__name__)
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SETTLE_S = 1.0


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    pods: Mapping[str, Pod]
    errors: Mapping[str, str]
    settling: frozenset[str] = frozenset()


def static_pod(pod: Pod, *, node_name: str, source: Path, seen: float) -> Pod:
    """Renames ``<name>-<node>``, binds to the node and gives the UID/config hash the kubelet would."""
    hasher = hashlib.md5(usedforsecurity=False)
    hasher.update(f"host:{node_name}".encode())
    hasher.update(f"file:{source}".encode())
    hasher.update(json.dumps(pod_to_dict(pod), sort_keys=True).encode())
    uid = hasher.hexdigest()
    annotations = {
        **annotations_of(pod),
        lbl.CONFIG_HASH: uid,
        lbl.CONFIG_SOURCE: "file",
        lbl.CONFIG_SEEN: rfc3339(seen),
    }
    metadata = pod_meta(pod).replace(
        name=f"{pod_name(pod)}-{node_name}",
        uid=uid,
        annotations=annotations,
        self_link=None,
    )
    tolerations = [*(pod_spec(pod).tolerations or ()), Toleration(operator="Exists", effect="NoExecute")]
    spec = pod_spec(pod).replace(node_name=node_name, tolerations=tolerations)
    return pod.replace(metadata=metadata, spec=spec)


def read_manifest(path: Path, *, node_name: str) -> Pod:
    decoded = load_pod(path.read_bytes())
    for unknown in decoded.unknown_fields:
        log.warning("%s: unknown field %r ignored", path, unknown)
    pod = static_pod(decoded.pod, node_name=node_name, source=path, seen=path.stat().st_mtime)
    errors = validate_pod(pod)
    if errors:
        raise InvalidObjectError(kind="Pod", name=pod_name(pod), errors=errors)
    return pod


@dataclass(frozen=True, kw_only=True)
class ParsedManifest:
    """A file's parse, valid while its (inode, size, mtime) stay the same, and its last good pod."""

    signature: tuple[int, int, int]
    pod: Pod | None = None
    error: str = ""
    last_good: Pod | None = None

    @property
    def modified_s(self) -> float:
        return self.signature[2] / 1e9


def _parse(path: Path, node_name: str, cache: dict[str, ParsedManifest]) -> ParsedManifest:
    info = path.stat()
    signature = (info.st_ino, info.st_size, info.st_mtime_ns)
    cached = cache.get(str(path))
    if cached is not None and cached.signature == signature:
        return cached
    last_good = cached.pod or cached.last_good if cached is not None else None
    try:
        parsed = ParsedManifest(signature=signature, pod=read_manifest(path, node_name=node_name))
    except (ManifestError, InvalidObjectError, OSError) as exc:
        parsed = ParsedManifest(signature=signature, error=str(exc), last_good=last_good)
    cache[str(path)] = parsed
    return parsed


def scan(
    directory: Path,
    *,
    node_name: str,
    cache: dict[str, ParsedManifest] | None = None,
    now: float | None = None,
    settle_s: float = 0.0,
) -> ScanResult:
    """The directory's pods; with ``settle_s``, a file that parsed before and fails to parse within
    ``settle_s`` of its last modification is still being written: it keeps its last good pod and is
    listed as settling. A new file that does not parse is an error at once (no pod to keep)."""
    cache = {} if cache is None else cache
    now = time.time() if now is None else now
    pods: dict[str, Pod] = {}
    names: dict[tuple[str, str], Path] = {}
    errors: dict[str, str] = {}
    settling: set[str] = set()
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
        pod = parsed.pod
        if pod is None and parsed.last_good is not None and now - parsed.modified_s < settle_s:
            settling.add(str(path))
            pod = parsed.last_good
        if pod is None:
            errors[str(path)] = parsed.error
            continue
        key = (pod_namespace(pod), pod_name(pod))
        if key in names:
            errors[str(path)] = (
                f"duplicate pod {pod_namespace(pod)}/{pod_name(pod)}, already defined in {names[key]}"
            )
            continue
        names[key] = path
        pods[pod_uid(pod)] = pod
    for stale in set(cache) - {str(p) for p in entries}:
        del cache[stale]
    return ScanResult(pods=pods, errors=errors, settling=frozenset(settling))


class StaticPodSource:
    def __init__(
        self,
        directory: Path,
        *,
        node_name: str,
        on_update: Callable[[Mapping[str, Pod]], None],
        period_s: float,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.directory = directory
        self.node_name = node_name
        self.on_update = on_update
        self.period_s = period_s
        self.settle_s = settle_s
        self.errors: Mapping[str, str] = {}
        self.settling: frozenset[str] = frozenset()
        self._reported: dict[str, str] = {}
        self._last: set[str] | None = None
        self._cache: dict[str, ParsedManifest] = {}

    async def scan_once(self) -> None:
        result = await asyncio.to_thread(
            scan, self.directory, node_name=self.node_name, cache=self._cache, settle_s=self.settle_s
        )
        for path, message in result.errors.items():
            if self._reported.get(path) != message:
                log.error("static pod manifest %s: %s", path, message)
        self._reported = dict(result.errors)
        self.errors = result.errors
        self.settling = result.settling
        uids = set(result.pods)
        if uids != self._last:
            self._last = uids
            self.on_update(result.pods)

    async def run(self) -> None:
        with DirectoryWatch(self.directory) as watch:
            while True:
                await self.scan_once()
                await watch.changed(timeout=self.settle_s if self.settling else self.period_s)


class DirectoryWatch:
    """Waits for changes in one directory: inotify when the kernel allows it, else just the timeout.

    The watch follows the directory if it is (re)created or its path's symlink is swapped: each
    wait checks where the path resolves to and re-adds the watch when that moved.
    """

    MASK_NAMES = (
        "CREATE", "DELETE", "CLOSE_WRITE", "MOVED_TO", "MOVED_FROM", "ATTRIB", "DELETE_SELF", "MOVE_SELF",
        "ONLYDIR",
    )  # fmt: skip
    DEBOUNCE_S = 0.05
    MAX_BATCH_S = 0.5

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._inotify: Inotify | None = None
        self._watch: Watch | None = None
        self._target: tuple[int, int] | None = None

    def __enter__(self) -> DirectoryWatch:
        try:
            self._inotify = Inotify()
        except OSError as exc:
            log.warning("inotify unavailable (%s): rescanning %s periodically only", exc, self.directory)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    @property
    def watching(self) -> bool:
        return self._watch is not None

    def _rewatch(self) -> None:
        """Adds the watch if the directory now exists or resolves to a different directory."""
        assert self._inotify is not None
        try:
            info = self.directory.stat()
        except OSError:
            target = None
        else:
            target = (info.st_dev, info.st_ino)
        if target == self._target and self._watch is not None:
            return
        if self._watch is not None:
            with contextlib.suppress(OSError):
                self._inotify.rm_watch(self._watch)
            self._watch = None
        self._target = target
        if target is None:
            return
        mask = Mask(0)
        for name in self.MASK_NAMES:
            mask |= Mask[name]
        try:
            self._watch = self._inotify.add_watch(self.directory, mask)
        except OSError as exc:
            log.warning("cannot watch %s (%s): rescanning periodically", self.directory, exc)

    async def changed(self, *, timeout: float) -> None:
        """Returns after a change (and a short quiet period gathering its burst) or ``timeout``."""
        if self._inotify is None:
            await asyncio.sleep(timeout)
            return
        self._rewatch()
        try:
            async with asyncio.timeout(timeout):
                event = await self._inotify.get()
        except TimeoutError:
            return
        log.debug("static pod directory changed: %s %s", event.mask, event.name)
        loop = asyncio.get_running_loop()
        batch_end = loop.time() + self.MAX_BATCH_S
        while loop.time() < batch_end:
            try:
                async with asyncio.timeout(self.DEBOUNCE_S):
                    await self._inotify.get()
            except TimeoutError:
                return
