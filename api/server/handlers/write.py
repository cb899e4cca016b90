"""CREATE and UPDATE (PUT) of a resource or its status, with admission, defaulting and validation."""

from __future__ import annotations

import copy
import logging

from aiohttp import web

from api.machinery import status as errors
from api.machinery.apply import record_update
from api.machinery.patch import definition_node
from api.registry.strategy import Object, Strategy
from api.server import lifecycle
from api.server.handlers.context import Api, respond
from api.server.handlers.validation import check_fields
from api.server.request import ResourcePath, dry_run, read_object

log = logging.getLogger("tinykube.apiserver.access")
GENERATE_ATTEMPTS = 8


async def create(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    obj = await read_object(request)
    warnings = check_fields(request, path.strategy, obj)
    created = await create_object(api, path.strategy, obj, path.namespace, dry=dry_run(request),
                                  manager=field_manager(request, required=False))
    return with_warnings(respond(created, 201), warnings)


def field_manager(request: web.Request, *, required: bool) -> str:
    """The ``fieldManager`` parameter, else the User-Agent's product (upstream's default)."""
    manager = request.query.get("fieldManager", "")
    if len(manager) > 128:
        raise errors.bad_request("fieldManager: Too long: may not be more than 128 bytes")
    if not manager:
        manager = request.headers.get("User-Agent", "unknown").split("/")[0][:128] or "unknown"
    return manager


async def create_object(api: Api, strategy: Strategy, obj: Object, namespace: str, *, dry: bool,
                        manager: str | None) -> Object:
    lifecycle.check_type(strategy, obj)
    lifecycle.check_namespace(strategy, obj, namespace)
    generated = not lifecycle.metadata_of(obj).get("name") and bool(obj["metadata"].get("generateName"))
    lifecycle.prepare_create(strategy, obj)
    lifecycle.validate(strategy, obj)
    if manager is not None:
        record_update(None, obj, manager=manager, node=definition_node(strategy.definition),
                      api_version=strategy.api_version)
    name = obj["metadata"]["name"]
    await api.require_namespace(strategy, name, namespace)
    if dry:
        return obj
    for _ in range(GENERATE_ATTEMPTS if generated else 1):
        try:
            return await api.objects.create(strategy, obj)
        except errors.ApiError as error:
            if not generated or error.reason != "AlreadyExists":
                raise
            obj["metadata"]["name"] = lifecycle.generate_name(obj["metadata"]["generateName"])
    raise errors.generate_name_conflict(strategy.group, strategy.plural, obj["metadata"]["name"])


def with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    for warning in warnings:
        response.headers.add("Warning", f'299 - "{warning}"')
    return response


async def update(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    obj = await read_object(request)
    warnings = check_fields(request, path.strategy, obj)
    lifecycle.check_type(path.strategy, obj)
    lifecycle.check_namespace(path.strategy, obj, path.namespace)
    name = lifecycle.metadata_of(obj).get("name")
    if name != path.name:
        raise errors.bad_request(f"the name of the object ({name}) does not match the name on the URL "
                                 f"({path.name})")
    stored = await update_object(api, path, lambda current: obj, dry=dry_run(request),
                                 manager=field_manager(request, required=False))
    return with_warnings(respond(stored), warnings)


async def update_object(api: Api, path: ResourcePath, change: object, *, dry: bool,
                        manager: str | None = None, attempts: int = 16) -> Object:
    """Applies ``change(current) -> new`` and stores it with optimistic concurrency.

    A new object naming a resourceVersion must match the stored one (409 Conflict otherwise); one
    without is an unconditional update, retried on races.
    """
    assert callable(change)
    strategy = path.strategy
    for _ in range(attempts):
        current = await api.objects.get(strategy, path.namespace, path.name)
        new = change(copy.deepcopy(current))
        wanted = lifecycle.metadata_of(new).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise errors.conflict(strategy.group, strategy.plural, path.name, errors.MODIFIED)
        merged = lifecycle.prepare_update(strategy, new, current, subresource=path.subresource)
        lifecycle.check_namespace(strategy, merged, path.namespace)
        merged["metadata"]["name"] = path.name
        lifecycle.validate(strategy, merged)
        if manager is not None:
            record_update(current, merged, manager=manager, node=definition_node(strategy.definition),
                          api_version=strategy.api_version, subresource=path.subresource)
        if dry:
            return merged
        if _finished_deleting(merged):
            merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await api.objects.delete(strategy, merged)
            return merged
        try:
            return await api.objects.update(strategy, merged, int(current["metadata"]["resourceVersion"]))
        except errors.ApiError as error:
            if error.reason != "Conflict":
                raise
    raise errors.conflict(strategy.group, strategy.plural, path.name, errors.MODIFIED)


def _finished_deleting(obj: Object) -> bool:
    """A deleting object whose last finalizer went (a namespace's spec ones too; a pod at grace 0)."""
    metadata = obj["metadata"]
    if not metadata.get("deletionTimestamp") or metadata.get("finalizers"):
        return False
    if obj.get("kind") == "Namespace":
        return not (obj.get("spec") or {}).get("finalizers")
    return obj.get("kind") != "Pod" or metadata.get("deletionGracePeriodSeconds") == 0
