"""GET of one object and LIST (paged, filtered, at the resourceVersion asked for)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.machinery import status as errors
from api.registry.strategy import Object, Strategy
from api.server.handlers.context import Api, respond, shaped
from api.server.handlers.options import (
    Filter,
    decode_continue,
    encode_continue,
    make_filter,
    parse_limit,
    parse_revision,
)
from api.server.request import ResourcePath, negotiate
from api.server.tables import metadata_only, table


async def get(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    requested = parse_revision(request.query.get("resourceVersion"))
    if requested:
        await check_not_future(api, requested)
    obj = await api.objects.get(path.strategy, path.namespace, path.name)
    output = negotiate(request)
    return respond(shaped(path.strategy, obj, as_table=output.table, as_metadata=output.metadata_only,
                          include_object=request.query.get("includeObject", "Metadata")))


async def check_not_future(api: Api, requested: int) -> int:
    current = await api.objects.revision()
    if requested > current:
        raise errors.too_large_resource_version(requested, current)
    return current


@dataclass(frozen=True)
class Listed:
    items: list[Object]
    revision: int
    continue_token: str
    remaining: int


async def _read_revision(api: Api, request: web.Request, limit: int) -> int:
    """The store revision the list reads at (0 = latest), per the resourceVersionMatch table."""
    requested = parse_revision(request.query.get("resourceVersion"))
    match = request.query.get("resourceVersionMatch", "")
    if match and match not in ("Exact", "NotOlderThan"):
        raise errors.bad_request(f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
                                 '"Exact", "NotOlderThan"')
    if match and requested is None:
        raise errors.bad_request("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
                                 "resourceVersion is provided")
    if not requested:
        if match == "Exact":
            raise errors.bad_request('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is '
                                     'forbidden for resourceVersion "0"')
        return 0
    await check_not_future(api, requested)
    exact = match == "Exact" or (not match and limit > 0)
    return requested if exact else 0


async def list_objects(api: Api, request: web.Request, strategy: Strategy, selection: Filter) -> Listed:
    limit = parse_limit(request)
    prefix = strategy.list_prefix(selection.namespace)
    token = request.query.get("continue", "")
    if token:
        if request.query.get("resourceVersion", "") not in ("", "0"):
            raise errors.bad_request("specifying resource version is not allowed when using continue")
        position = decode_continue(token, prefix)
        revision, start = position.revision, position.start
    else:
        revision, start = await _read_revision(api, request, limit), None
    try:
        return await _collect(api, strategy, selection, prefix, revision, start, limit)
    except errors.ApiError as error:
        if error.code == 410 and token:
            raise errors.expired(
                "The provided continue parameter is too old to display a consistent list result. You can "
                "start a new list without the continue parameter.") from error
        raise


async def _collect(api: Api, strategy: Strategy, selection: Filter, prefix: bytes, revision: int,
                   start: bytes | None, limit: int) -> Listed:
    items: list[Object] = []
    while True:
        page = await api.objects.page(strategy, selection.namespace, revision=revision, limit=limit,
                                      continue_key=start)
        revision = revision or page.revision
        for obj in page.items:
            if selection.everything or selection.matches(obj):
                items.append(obj)
                if limit and len(items) == limit:
                    return _page_end(strategy, items, obj, page, prefix, revision)
        if page.continue_key is None:
            return Listed(items, revision, "", 0)
        start = page.continue_key


def _page_end(strategy: Strategy, items: list[Object], last: Object, page: Any, prefix: bytes,
              revision: int) -> Listed:
    metadata = last["metadata"]
    after = strategy.key(metadata.get("namespace", ""), metadata["name"]) + b"\0"
    if page.continue_key is None and last is page.items[-1]:
        return Listed(items, revision, "", 0)
    remaining = page.remaining + (len(page.items) - page.items.index(last) - 1)
    return Listed(items, revision, encode_continue(revision, after, prefix), remaining)


def list_body(strategy: Strategy, listed: Listed, request: web.Request) -> dict[str, Any]:
    output = negotiate(request)
    if output.table:
        return table(strategy, listed.items, include_object=request.query.get("includeObject", "Metadata"),
                     revision=str(listed.revision), continue_token=listed.continue_token)
    metadata: dict[str, Any] = {"resourceVersion": str(listed.revision)}
    if listed.continue_token:
        metadata["continue"] = listed.continue_token
        if listed.remaining:
            metadata["remainingItemCount"] = listed.remaining
    if output.metadata_only:
        return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
                "items": [metadata_only(item) for item in listed.items]}
    return {"kind": f"{strategy.kind}List", "apiVersion": strategy.api_version, "metadata": metadata,
            "items": listed.items}


async def list_(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    selection = make_filter(request, path.strategy, path.namespace)
    listed = await list_objects(api, request, path.strategy, selection)
    return respond(list_body(path.strategy, listed, request))
