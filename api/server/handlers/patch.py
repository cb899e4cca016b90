"""PATCH in the four types: JSON patch, merge patch, strategic merge patch and server-side apply."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.machinery import status as errors
from api.machinery.apply import ApplyConflict, apply
from api.machinery.patch import PatchError, definition_node, json_patch, merge_patch, strategic_merge
from api.registry.strategy import Object
from api.server.handlers.context import Api, respond
from api.server.handlers.validation import check_fields
from api.server.handlers.write import create_object, field_manager, update_object, with_warnings
from api.server.request import ResourcePath, dry_run, flag, media_type, parse_document, read_body

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)


def _unsupported(content_type: str) -> errors.ApiError:
    return errors.ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {', '.join(PATCH_TYPES)}")


def _patched(kind: str, current: Object, body: Any, path: ResourcePath) -> Object:
    node = definition_node(path.strategy.definition)
    try:
        if kind == JSON_PATCH:
            result = json_patch(current, body)
        elif kind == MERGE_PATCH:
            result = merge_patch(current, body)
        else:
            result = strategic_merge(current, body, node)
    except PatchError as exc:
        raise errors.ApiError(422, "Invalid", str(exc)) from exc
    if not isinstance(result, dict):
        raise errors.bad_request("the patch did not produce an object")
    return result


async def patch(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    kind = media_type(request)
    if kind not in PATCH_TYPES:
        raise _unsupported(kind)
    body = parse_document(await read_body(request), kind)
    if kind != JSON_PATCH and not isinstance(body, dict):
        raise errors.bad_request("the patch must be a JSON or YAML object")
    if kind == APPLY:
        return await _apply(api, request, path, body)
    warnings: list[str] = []

    def change(current: Object) -> Object:
        patched = _patched(kind, current, body, path)
        warnings[:] = check_fields(request, path.strategy, patched)
        return patched

    stored = await update_object(api, path, change, dry=dry_run(request),
                                 manager=field_manager(request, required=False))
    return with_warnings(respond(stored), warnings)


async def _apply(api: Api, request: web.Request, path: ResourcePath, applied: Object) -> web.Response:
    manager = request.query.get("fieldManager", "")
    if not manager:
        raise errors.bad_request("PATCH apply requests require a fieldManager; fieldManager is required for "
                                 "apply requests")
    strategy = path.strategy
    warnings = check_fields(request, strategy, applied)
    metadata = applied.get("metadata") or {}
    if metadata.get("name") and metadata["name"] != path.name:
        raise errors.bad_request(f"the name of the object ({metadata['name']}) does not match the name on "
                                 f"the URL ({path.name})")
    node = definition_node(strategy.definition)
    force = flag(request, "force")

    def applying(current: Object | None) -> Object:
        try:
            return apply(current, applied, manager=manager, force=force, node=node,
                         api_version=strategy.api_version, subresource=path.subresource)
        except ApplyConflict as conflict:
            causes = [{"reason": "FieldManagerConflict",
                       "message": f'conflict with "{m}"' + (f" using {v}" if v else ""), "field": f}
                      for m, v, f in conflict.conflicts]
            raise errors.ApiError(409, "Conflict", conflict.message(), {
                "name": path.name, "kind": strategy.plural, "causes": causes} | (
                {"group": strategy.group} if strategy.group else {})) from conflict

    existing = await api.objects.find(strategy, path.namespace, path.name)
    if existing is None and not path.subresource:
        created = applying(None)
        created.setdefault("metadata", {})["name"] = path.name
        created["apiVersion"] = strategy.api_version
        created.setdefault("kind", strategy.kind)
        stored = await create_object(api, strategy, created, path.namespace, dry=dry_run(request),
                                     manager=None)
        return with_warnings(respond(stored, 201), warnings)
    if existing is None:
        raise errors.not_found(strategy.group, strategy.plural, path.name)
    stored = await update_object(api, path, applying, dry=dry_run(request), manager=None)
    return with_warnings(respond(stored), warnings)
