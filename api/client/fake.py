"""An in-memory apiserver behind the ``Api`` protocol, for fast unit tests of informers and controllers.

It keeps what clients rely on: one global resourceVersion, 404/409/AlreadyExists/422 Status errors
worded as kube-apiserver words them, generateName, uid, generation, finalizers holding deletion,
the status subresource split, binding/eviction/scale, watch from a resourceVersion with replay,
410 Expired after ``compact()``, bookmarks on demand and ``end_watches()`` to cut streams as a
server timeout does. It does not do snapshots for pagination or server-side apply conflicts.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from api.client import errors
from api.client.patches import PatchError, json_patch, merge_patch, strategic_merge_patch
from api.client.resources import NODES, PODS, Resource
from api.client.selectors import labels_of, parse_field_selector, parse_label_selector
from api.client.types import NO_SELECTORS, EventType, Obj, ObjectList, PatchType, Selectors, WatchEvent, meta

_END = object()
# The apiserver holds an object deleted with these policies until the garbage collector removes the finalizer.
_PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


@dataclass(eq=False)
class _Watcher:
    resource: Resource
    namespace: str | None
    matches: Any
    bookmarks: bool
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)


@dataclass(frozen=True)
class _Change:
    resource: Resource
    event: WatchEvent


def _pod_grace(pod: Obj, requested: int | None) -> int:
    """The apiserver's pod strategy: an unscheduled or finished pod goes at once, others wait out
    their grace period (the request's, else the pod's terminationGracePeriodSeconds)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(requested, 0)
    return int(spec.get("terminationGracePeriodSeconds", 30))


def _finished_deleting(resource: Resource, metadata: Mapping[str, Any]) -> bool:
    """A deleting object with no finalizer left goes; a pod only once its grace period is 0."""
    if not metadata.get("deletionTimestamp") or metadata.get("finalizers"):
        return False
    return resource != PODS or metadata.get("deletionGracePeriodSeconds") == 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeApi:
    def __init__(self) -> None:
        self._objects: dict[tuple[Resource, str | None, str], Obj] = {}
        self._revision = 1
        self._history: list[_Change] = []
        self._compacted = 0
        self._watchers: set[_Watcher] = set()
        self.requests: list[tuple[str, str]] = []

    @property
    def resource_version(self) -> str:
        return str(self._revision)

    def _key(self, resource: Resource, namespace: str | None, name: str) -> tuple[Resource, str | None, str]:
        return (resource, namespace if resource.namespaced else None, name)

    def _stored(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        found = self._objects.get(self._key(resource, namespace, name))
        if found is None:
            raise errors.NotFound(
                _status(404, "NotFound", f'{resource.group_resource} "{name}" not found', resource, name)
            )
        return found

    def _commit(self, resource: Resource, event_type: EventType, obj: Obj) -> Obj:
        self._revision += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self._revision)
        metadata = obj["metadata"]
        key = self._key(resource, metadata.get("namespace"), metadata["name"])
        if event_type is EventType.DELETED:
            self._objects.pop(key, None)
        else:
            self._objects[key] = obj
        change = _Change(resource, WatchEvent(type=event_type, object=obj))
        self._history.append(change)
        for watcher in list(self._watchers):
            if _visible(watcher, change):
                watcher.queue.put_nowait(change.event)
        return copy.deepcopy(obj)

    async def get(
        self, resource: Resource, name: str, *, namespace: str | None = None, subresource: str | None = None
    ) -> Obj:
        self.requests.append(("get", resource.plural))
        obj = copy.deepcopy(self._stored(resource, namespace, name))
        return _scale_of(obj) if subresource == "scale" else obj

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        selectors: Selectors = NO_SELECTORS,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> ObjectList:
        self.requests.append(("list", resource.plural))
        matches = _matcher(selectors)
        start = _decode_continue(continue_token) if continue_token else ""
        keys = sorted(
            (k for k in self._objects if k[0] == resource and (namespace is None or k[1] == namespace)),
            key=lambda k: f"{k[1] or ''}/{k[2]}",
        )
        items = [
            self._objects[k] for k in keys if f"{k[1] or ''}/{k[2]}" > start and matches(self._objects[k])
        ]
        more = limit is not None and len(items) > limit
        items = items[:limit] if limit else items
        token = _encode_continue(items[-1]) if more and items else None
        return ObjectList(
            items=tuple(copy.deepcopy(items)), resource_version=self.resource_version, continue_token=token
        )

    async def create(
        self,
        resource: Resource,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> Obj:
        self.requests.append(("create", resource.plural))
        if subresource is not None and name is not None:
            return self._create_subresource(resource, name, namespace, subresource, obj)
        _require_kind(obj)
        new = copy.deepcopy(dict(obj))
        metadata = new.setdefault("metadata", {})
        if resource.namespaced:
            metadata["namespace"] = namespace or metadata.get("namespace") or "default"
        else:
            metadata.pop("namespace", None)
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        if not metadata.get("name"):
            raise errors.Invalid(_invalid(resource, "", "metadata.name", "name or generateName is required"))
        if self._key(resource, metadata.get("namespace"), metadata["name"]) in self._objects:
            message = f'{resource.group_resource} "{metadata["name"]}" already exists'
            raise errors.AlreadyExists(_status(409, "AlreadyExists", message, resource, metadata["name"]))
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        if resource.has_status and resource != NODES:
            new.pop("status", None)  # reset as the apiserver's strategies do; a node registers its own
        if resource == PODS:
            new["status"] = {"phase": "Pending"}
        new.update(apiVersion=resource.api_version, kind=resource.kind)
        return self._commit(resource, EventType.ADDED, new)

    async def update(
        self,
        resource: Resource,
        obj: Mapping[str, Any],
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> Obj:
        self.requests.append(("update", resource.plural))
        _require_kind(obj)
        metadata = meta(obj)
        name = str(metadata.get("name", ""))
        if subresource == "scale":
            return await self._update_scale(resource, name, metadata.get("namespace"), obj)
        old = self._stored(resource, metadata.get("namespace"), name)
        expected = metadata.get("resourceVersion")
        if expected and expected != old["metadata"]["resourceVersion"]:
            raise errors.Conflict(_conflict(resource, name))
        return self._replace(resource, old, copy.deepcopy(dict(obj)), subresource)

    def _replace(self, resource: Resource, old: Obj, new: Obj, subresource: str | None) -> Obj:
        if subresource == "status":
            new = {**copy.deepcopy(old), "status": new.get("status")}
        elif resource.has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        kept = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name")
        new_meta = new.setdefault("metadata", {})
        new_meta.update({k: old["metadata"][k] for k in kept if k in old["metadata"]})
        new.update(apiVersion=resource.api_version, kind=resource.kind)
        if new.get("spec") != old.get("spec"):
            new_meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if _finished_deleting(resource, new_meta):
            return self._commit(resource, EventType.DELETED, new)
        if {**new, "metadata": {**new_meta, "resourceVersion": old["metadata"]["resourceVersion"]}} == old:
            return copy.deepcopy(old)
        return self._commit(resource, EventType.MODIFIED, new)

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType,
        namespace: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> Obj:
        self.requests.append(("patch", resource.plural))
        key = self._key(resource, namespace, name)
        if patch_type is PatchType.APPLY and key not in self._objects:
            return await self.create(resource, patch, namespace=namespace, field_manager=field_manager)
        old = self._stored(resource, namespace, name)
        try:
            new = _apply_patch(old, patch, patch_type)
        except PatchError as error:
            raise errors.BadRequest(errors.status_for(400, "BadRequest", str(error))) from error
        expected = meta(patch).get("resourceVersion") if isinstance(patch, Mapping) else None
        if expected and expected != old["metadata"]["resourceVersion"]:
            raise errors.Conflict(_conflict(resource, name))
        return self._replace(resource, old, new, subresource)

    async def delete(
        self,
        resource: Resource,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> Obj:
        self.requests.append(("delete", resource.plural))
        old = self._stored(resource, namespace, name)
        for field_name, value in (preconditions or {}).items():
            if old["metadata"].get(field_name) != value:
                message = (
                    f"Precondition failed: {field_name.capitalize()} in precondition: {value}, "
                    f"{field_name.capitalize()} in object meta: {old['metadata'].get(field_name)}"
                )
                raise errors.Conflict(_status(409, "Conflict", message, resource, name))
        finalizers = list(old["metadata"].get("finalizers") or ())
        added = _PROPAGATION_FINALIZERS.get(propagation_policy or "")
        if added is not None and added not in finalizers:
            finalizers.append(added)
        grace = _pod_grace(old, grace_period_seconds) if resource == PODS else 0
        if finalizers or grace > 0:
            current = old["metadata"].get("deletionGracePeriodSeconds")
            if old["metadata"].get("deletionTimestamp") and (current is None or current <= grace):
                return copy.deepcopy(old)
            marked = copy.deepcopy(old)
            marked["metadata"].update(deletionTimestamp=_now(), finalizers=finalizers)
            if resource == PODS:
                marked["metadata"]["deletionGracePeriodSeconds"] = grace
            return self._commit(resource, EventType.MODIFIED, marked)
        return self._commit(resource, EventType.DELETED, old)

    async def watch(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        selectors: Selectors = NO_SELECTORS,
        resource_version: str | None = None,
        allow_watch_bookmarks: bool = False,
        timeout_seconds: int | None = None,
    ) -> AsyncGenerator[WatchEvent, None]:
        self.requests.append(("watch", resource.plural))
        watcher = _Watcher(resource, namespace, _matcher(selectors), allow_watch_bookmarks)
        for event in self._initial_events(watcher, resource_version):
            watcher.queue.put_nowait(event)
        self._watchers.add(watcher)
        try:
            while (item := await watcher.queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                yield copy.deepcopy(item)
        finally:
            self._watchers.discard(watcher)

    def _initial_events(self, watcher: _Watcher, resource_version: str | None) -> Sequence[WatchEvent]:
        if resource_version in (None, "", "0"):
            return [
                WatchEvent(type=EventType.ADDED, object=obj)
                for (resource, _, _), obj in self._objects.items()
                if _visible(watcher, _Change(resource, WatchEvent(type=EventType.ADDED, object=obj)))
            ]
        since = int(str(resource_version))
        if since < self._compacted:
            message = f"too old resource version: {since} ({self._compacted})"
            raise errors.Expired(errors.status_for(410, "Expired", message))
        return [
            c.event for c in self._history if int(c.event.resource_version) > since and _visible(watcher, c)
        ]

    def compact(self) -> None:
        """Forget history up to now: watches from an older resourceVersion get 410 Expired."""
        self._compacted = self._revision
        self._history.clear()

    def send_bookmarks(self) -> None:
        bookmark = {"metadata": {"resourceVersion": self.resource_version}}
        for watcher in self._watchers:
            if watcher.bookmarks:
                kind = {"apiVersion": watcher.resource.api_version, "kind": watcher.resource.kind}
                watcher.queue.put_nowait(WatchEvent(type=EventType.BOOKMARK, object={**kind, **bookmark}))

    def end_watches(self) -> None:
        """End every open watch stream, as the apiserver does when a watch's timeout passes."""
        for watcher in self._watchers:
            watcher.queue.put_nowait(_END)

    def break_watches(self, error: Exception) -> None:
        """Fail every open watch stream with ``error`` (e.g. ``ApiUnreachable``: a connection that broke)."""
        for watcher in self._watchers:
            watcher.queue.put_nowait(error)

    @property
    def open_watches(self) -> int:
        return len(self._watchers)

    def _create_subresource(
        self, resource: Resource, name: str, namespace: str | None, subresource: str, body: Mapping[str, Any]
    ) -> Obj:
        pod = self._stored(resource, namespace, name)
        if subresource == "binding":
            node = body.get("target", {}).get("name", "")
            if pod.get("spec", {}).get("nodeName"):
                assigned = pod["spec"]["nodeName"]
                message = (
                    f'Operation cannot be fulfilled on pods/binding "{name}": '
                    f'pod {name} is already assigned to node "{assigned}"'
                )
                raise errors.Conflict(_status(409, "Conflict", message, resource, name))
            bound = copy.deepcopy(pod)
            bound.setdefault("spec", {})["nodeName"] = node
            self._commit(resource, EventType.MODIFIED, bound)
            return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}
        if subresource == "eviction":
            self._commit(resource, EventType.DELETED, pod)
            return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}
        raise errors.NotFound(
            errors.status_for(404, "NotFound", "the server could not find the requested resource")
        )

    async def _update_scale(
        self, resource: Resource, name: str, namespace: str | None, scale: Mapping[str, Any]
    ) -> Obj:
        old = self._stored(resource, namespace, name)
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["replicas"] = scale.get("spec", {}).get("replicas", 0)
        self._replace(resource, old, new, None)
        return _scale_of(self._stored(resource, namespace, name))


def _visible(watcher: _Watcher, change: _Change) -> bool:
    obj = change.event.object
    if change.resource != watcher.resource:
        return False
    if watcher.namespace is not None and meta(obj).get("namespace") != watcher.namespace:
        return False
    return bool(watcher.matches(obj))


def _matcher(selectors: Selectors) -> Any:
    labels, fields = parse_label_selector(selectors.labels), parse_field_selector(selectors.fields)
    return lambda obj: labels(labels_of(obj)) and fields(obj)


def _apply_patch(old: Obj, patch: Any, patch_type: PatchType) -> Obj:
    if patch_type is PatchType.JSON:
        result: Obj = json_patch(old, patch)
    elif patch_type is PatchType.MERGE:
        result = merge_patch(old, patch)
    else:
        result = strategic_merge_patch(old, patch)
    return result


def _require_kind(obj: Mapping[str, Any]) -> None:
    if not obj.get("kind"):
        body = json.dumps(obj, separators=(",", ":"))
        raise errors.BadRequest(errors.status_for(400, "BadRequest", f"Object 'Kind' is missing in '{body}'"))


def _status(code: int, reason: str, message: str, resource: Resource, name: str) -> Obj:
    return errors.status_for(code, reason, message, name=name, group=resource.group, kind=resource.plural)


def _conflict(resource: Resource, name: str) -> Obj:
    message = (
        f'Operation cannot be fulfilled on {resource.group_resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return _status(409, "Conflict", message, resource, name)


def _invalid(resource: Resource, name: str, field_path: str, detail: str) -> Obj:
    cause = {"reason": "FieldValueRequired", "message": f"Required value: {detail}", "field": field_path}
    message = f'{resource.kind} "{name}" is invalid: {field_path}: Required value: {detail}'
    return errors.status_for(
        422, "Invalid", message, name=name, group=resource.group, kind=resource.kind, causes=[cause]
    )


def _scale_of(obj: Obj) -> Obj:
    metadata = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in metadata
        },
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
        "status": {"replicas": obj.get("status", {}).get("replicas", 0)},
    }


def _encode_continue(last: Obj) -> str:
    metadata = last["metadata"]
    position = f"{metadata.get('namespace') or ''}/{metadata['name']}"
    return base64.urlsafe_b64encode(json.dumps({"start": position}).encode()).decode()


def _decode_continue(token: str) -> str:
    try:
        return str(json.loads(base64.urlsafe_b64decode(token))["start"])
    except (ValueError, KeyError, TypeError) as error:
        message = f"continue key is not valid: {error}"
        raise errors.BadRequest(errors.status_for(400, "BadRequest", message)) from error
