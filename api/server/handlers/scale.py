"""<workload>/scale: placeholder."""

from __future__ import annotations

from aiohttp import web

from api.machinery import status as errors
from api.server.handlers.context import Api
from api.server.request import ResourcePath


async def scale(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    raise errors.method_not_allowed(request.method, "scale")
