"""DELETE of one object (finalizers, graceful pod deletion, preconditions) and DELETECOLLECTION."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.machinery import status as errors
from api.registry.strategy import Object, Strategy
from api.server.handlers.context import Api, respond
from api.server.handlers.options import make_filter
from api.server.handlers.read import list_objects
from api.server.request import ResourcePath, dry_run, media_type, parse_document, read_body

PROPAGATION = ("Orphan", "Background", "Foreground")


@dataclass(frozen=True)
class DeleteOptions:
    grace_seconds: int | None = None
    propagation: str = ""
    uid: str = ""
    resource_version: str = ""


async def delete_options(request: web.Request) -> DeleteOptions:
    body = await read_body(request)
    given: dict[str, Any] = {}
    if body.strip():
        document = parse_document(body, media_type(request))
        if not isinstance(document, dict):
            raise errors.bad_request("the body of a DELETE must be a DeleteOptions object")
        given = document
    grace = request.query.get("gracePeriodSeconds", given.get("gracePeriodSeconds"))
    propagation = request.query.get("propagationPolicy", given.get("propagationPolicy") or "")
    if propagation and propagation not in PROPAGATION:
        raise errors.bad_request(f'propagationPolicy: Unsupported value: "{propagation}": supported values: '
                                 '"Background", "Foreground", "Orphan"')
    preconditions = given.get("preconditions") or {}
    try:
        grace_seconds = None if grace is None else max(int(grace), 0)
    except ValueError as exc:
        raise errors.bad_request(f'invalid gracePeriodSeconds "{grace}"') from exc
    return DeleteOptions(grace_seconds, propagation, str(preconditions.get("uid") or ""),
                         str(preconditions.get("resourceVersion") or ""))


def _check_preconditions(strategy: Strategy, obj: Object, options: DeleteOptions) -> None:
    metadata = obj["metadata"]
    if options.uid and options.uid != metadata.get("uid"):
        raise errors.conflict(strategy.group, strategy.plural, metadata["name"],
                              f"Precondition failed: UID in precondition: {options.uid}, UID in object "
                              f"meta: {metadata.get('uid')}")
    if options.resource_version and options.resource_version != metadata.get("resourceVersion"):
        raise errors.conflict(strategy.group, strategy.plural, metadata["name"],
                              f"Precondition failed: ResourceVersion in precondition: "
                              f"{options.resource_version}, ResourceVersion in object meta: "
                              f"{metadata.get('resourceVersion')}")


PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


def _pod_grace(obj: Object, options: DeleteOptions) -> int:
    """Upstream's pod strategy: unscheduled or finished pods go at once; others wait out their grace."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if options.grace_seconds is not None:
        return options.grace_seconds
    return int(spec.get("terminationGracePeriodSeconds", 30))


def _graceful_marks(strategy: Strategy, obj: Object, options: DeleteOptions) -> tuple[int, bool]:
    """(grace seconds, whether the object stays until someone finishes it)."""
    metadata = obj["metadata"]
    grace = _pod_grace(obj, options) if strategy.kind == "Pod" else 0
    held = bool(metadata.get("finalizers")) or (
        strategy.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers")))
    finalizer = PROPAGATION_FINALIZERS.get(options.propagation)
    if finalizer is not None and not held:
        held = True  # the garbage collector removes the finalizer once dependents are deleted or orphaned
        metadata.setdefault("finalizers", []).append(finalizer)
    return grace, held or grace > 0


def _mark_deleting(obj: Object, grace: int, options: DeleteOptions) -> Object:
    metadata = obj["metadata"]
    current = metadata.get("deletionGracePeriodSeconds")
    if metadata.get("deletionTimestamp") and current is not None and current <= grace:
        return obj
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grace)
    metadata["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata["deletionGracePeriodSeconds"] = grace
    if options.propagation == "Orphan":
        finalizers = metadata.setdefault("finalizers", [])
        if "orphan" not in finalizers:
            finalizers.append("orphan")
    if obj.get("kind") == "Namespace":
        obj.setdefault("status", {})["phase"] = "Terminating"
    return obj


async def delete_object(api: Api, path: ResourcePath, options: DeleteOptions, *, dry: bool) -> Object:
    strategy = path.strategy
    current = await api.objects.get(strategy, path.namespace, path.name)
    _check_preconditions(strategy, current, options)
    grace, held = _graceful_marks(strategy, current, options)
    if held:
        marked = _mark_deleting(current, grace, options)
        if dry:
            return marked
        return await api.objects.update(strategy, marked, int(
            marked["metadata"]["resourceVersion"]))
    if not dry:
        revision = await api.objects.delete(strategy, current)
        current["metadata"]["resourceVersion"] = str(revision)
    return current


async def delete(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    options = await delete_options(request)
    obj = await delete_object(api, path, options, dry=dry_run(request))
    return respond(obj)


async def delete_collection(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    options = await delete_options(request)
    selection = make_filter(request, path.strategy, path.namespace)
    listed = await list_objects(api, request, path.strategy, selection)
    deleted = []
    for obj in listed.items:
        metadata = obj["metadata"]
        target = ResourcePath(path.strategy, metadata.get("namespace", ""), metadata["name"], "")
        try:
            deleted.append(await delete_object(api, target, options, dry=dry_run(request)))
        except errors.ApiError as error:
            if error.code != 404:
                raise
    return respond({"kind": f"{path.strategy.kind}List", "apiVersion": path.strategy.api_version,
                    "metadata": {}, "items": deleted})

