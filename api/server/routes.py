"""The apiserver's aiohttp application: middleware (errors, authentication, metrics, access log) and
the dispatch of resource requests to the verb handlers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from api.machinery import status as errors
from api.server import discovery
from api.server.authn import USER, Authenticator, Authorizer, User, is_anonymous_path
from api.server.handlers import delete as delete_handlers
from api.server.handlers import read, watch, write
from api.server.handlers.context import Api, respond
from api.server.metrics import RequestMetrics
from api.server.openapi import OpenApi, etag
from api.server.request import flag, resolve

log = logging.getLogger("tinykube.apiserver")
access = logging.getLogger("tinykube.apiserver.access")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def error_response(error: errors.ApiError) -> web.Response:
    response = respond(error.status(), error.code)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _resource_of(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        parts = parts[2:]
    elif parts[:1] == ["apis"]:
        parts = parts[3:]
    else:
        return parts[0] if parts else ""
    if len(parts) >= 3 and parts[0] == "namespaces":
        parts = parts[2:]
    return parts[0] if parts else ""


class Middleware:
    def __init__(self, authenticator: Authenticator, authorizer: Authorizer, metrics: RequestMetrics) -> None:
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.metrics = metrics

    @web.middleware
    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        verb = "WATCH" if flag(request, "watch") else request.method
        user: User | None = None
        try:
            if not is_anonymous_path(request.path):
                user = self.authenticator.authenticate(request)
                if user is None:
                    raise errors.unauthorized()
                request[USER] = user
            response = await handler(request)
        except errors.ApiError as error:
            response = error_response(error)
        except web.HTTPException as exc:
            if exc.status == 404:
                response = error_response(errors.ApiError(
                    404, "NotFound", "the server could not find the requested resource"))
            elif exc.status == 405:
                response = error_response(errors.ApiError(405, "MethodNotAllowed",
                                                          "the server does not allow this method on the "
                                                          "requested resource"))
            else:
                raise
        except Exception:
            log.exception("%s %s failed", request.method, request.path_qs)
            response = error_response(errors.internal("the server could not handle the request"))
        seconds = time.monotonic() - started
        self.metrics.observe(verb, _resource_of(request.path), response.status, seconds)
        if request.method in MUTATING:
            access.info("%s %s %s user=%s %.1fms", request.method, request.path_qs, response.status,
                        user.name if user else "-", seconds * 1000)
        return response


def resource_handler(api: Api) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        group = request.match_info.get("group", "")
        version = request.match_info["version"]
        segments = request.match_info["tail"].split("/")
        if not group and len(segments) == 3 and segments[0] == "namespaces" and segments[2] == "bindings":
            from api.server.handlers import subresources

            return await subresources.bindings(api, request, segments[1])
        path = resolve(api.registry, group, version, segments)
        method = request.method
        if path.subresource in ("binding", "eviction", "scale", "finalize"):
            from api.server.handlers import subresources

            return await subresources.handle(api, request, path)
        if method == "GET":
            if path.name:
                return await read.get(api, request, path)
            if flag(request, "watch"):
                return await watch.watch(api, request, path.strategy, path.namespace)
            return await read.list_(api, request, path)
        if method == "POST" and not path.name:
            return await write.create(api, request, path)
        if method == "PUT" and path.name:
            return await write.update(api, request, path)
        if method == "PATCH" and path.name:
            from api.server.handlers import patch

            return await patch.patch(api, request, path)
        if method == "DELETE":
            if path.name:
                return await delete_handlers.delete(api, request, path)
            return await delete_handlers.delete_collection(api, request, path)
        raise errors.method_not_allowed(method, path.strategy.plural)

    return handle


def discovery_routes(api: Api, address: Callable[[], str]) -> list[web.RouteDef]:
    async def version(request: web.Request) -> web.Response:
        return respond(discovery.version_info())

    async def core(request: web.Request) -> web.Response:
        if discovery.wants_aggregated(request):
            return _aggregated(discovery.aggregated(api.registry, core=True))
        return respond(discovery.api_versions(address()))

    async def groups(request: web.Request) -> web.Response:
        if discovery.wants_aggregated(request):
            return _aggregated(discovery.aggregated(api.registry, core=False))
        return respond(discovery.group_list(api.registry))

    async def group(request: web.Request) -> web.Response:
        name = request.match_info["group"]
        for item in discovery.group_list(api.registry)["groups"]:
            if item["name"] == name:
                return respond({"kind": "APIGroup", "apiVersion": "v1"} | item)
        raise web.HTTPNotFound()

    async def resources(request: web.Request) -> web.Response:
        body = discovery.resource_list(api.registry, request.match_info.get("group", ""),
                                       request.match_info["version"])
        if body is None:
            raise web.HTTPNotFound()
        return respond(body)

    async def whoami(request: web.Request) -> web.Response:
        user = request[USER]
        return respond({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                        "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.info()}}, 201)

    return [
        web.get("/version", version),
        web.get("/api", core),
        web.get("/apis", groups),
        web.get("/api/{version}", resources),
        web.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", whoami),
        web.get("/apis/{group}", group),
        web.get("/apis/{group}/{version}", resources),
    ]


def _aggregated(body: dict[str, object]) -> web.Response:
    response = web.Response(body=json.dumps(body, separators=(",", ":")).encode())
    response.headers["Content-Type"] = discovery.AGGREGATED_V2
    return response


def build_app(api: Api, middleware: Middleware, health: Callable[[], Awaitable[bool]],
              address: Callable[[], str]) -> web.Application:
    app = web.Application(middlewares=[middleware.handle], client_max_size=4 * 1024 * 1024)
    handle = resource_handler(api)

    async def healthy(request: web.Request) -> web.Response:
        if not await health():
            return web.Response(status=500, text="[-]etcd failed: reason withheld\nhealthz check failed\n")
        return web.Response(text="ok")

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=middleware.metrics.text(),
                            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    documents = OpenApi(api.registry)

    async def openapi_v2(request: web.Request) -> web.Response:
        return web.Response(body=documents.v2, content_type="application/json")

    async def openapi_v3_index(request: web.Request) -> web.Response:
        return web.Response(body=documents.v3_index, content_type="application/json")

    async def openapi_v3(request: web.Request) -> web.Response:
        body = documents.v3_documents.get(request.match_info["path"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/json",
                            headers={"ETag": etag(body), "Cache-Control": "public, immutable"})

    app.add_routes([
        web.get("/openapi/v2", openapi_v2), web.get("/openapi/v3", openapi_v3_index),
        web.get("/openapi/v3/{path:.+}", openapi_v3),
        web.get("/healthz", healthy), web.get("/livez", healthy), web.get("/readyz", healthy),
        web.get("/metrics", metrics),
        *discovery_routes(api, address),
        web.route("*", "/api/{version}/{tail:.+}", handle),
        web.route("*", "/apis/{group}/{version}/{tail:.+}", handle),
    ])
    return app
