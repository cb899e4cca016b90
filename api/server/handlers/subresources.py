"""Subresources with their own kinds: pods/binding, pods/eviction, <workload>/scale, namespaces/finalize."""

from __future__ import annotations

from aiohttp import web

from api.machinery import status as errors
from api.meta.errors import required
from api.registry.pods import PODS
from api.server.handlers.context import Api, respond
from api.server.handlers.delete import DeleteOptions, delete_object
from api.server.handlers.write import update_object
from api.server.request import ResourcePath, dry_run, read_object


async def handle(api: Api, request: web.Request, path: ResourcePath) -> web.StreamResponse:
    if path.subresource == "binding" and request.method == "POST":
        return await bind(api, request, path)
    if path.subresource == "eviction" and request.method == "POST":
        return await evict(api, request, path)
    if path.subresource == "scale" and request.method in ("GET", "PUT", "PATCH"):
        from api.server.handlers.scale import scale

        return await scale(api, request, path)
    if path.subresource == "finalize" and request.method == "PUT":
        return await finalize(api, request, path)
    raise errors.method_not_allowed(request.method, f"{path.strategy.plural}/{path.subresource}")


async def bindings(api: Api, request: web.Request, namespace: str) -> web.Response:
    """POST namespaces/<ns>/bindings: the older form of pods/<name>/binding, naming the pod in the body."""
    if request.method != "POST":
        raise errors.method_not_allowed(request.method, "bindings")
    binding = await read_object(request)
    name = str((binding.get("metadata") or {}).get("name") or "")
    if not name:
        problem = required("metadata.name", "name or generateName is required")
        raise errors.invalid("", "Binding", "", [problem])
    return await _bind(api, request, ResourcePath(PODS, namespace, name, "binding"), binding)


async def bind(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    return await _bind(api, request, path, await read_object(request))


async def _bind(api: Api, request: web.Request, path: ResourcePath,
                binding: dict[str, object]) -> web.Response:
    target = binding.get("target") or {}
    node = target.get("name") if isinstance(target, dict) else None
    if not node:
        raise errors.invalid("", "Binding", path.name, [required("target.name")])
    metadata = binding.get("metadata") or {}
    if isinstance(metadata, dict) and metadata.get("name") and metadata["name"] != path.name:
        raise errors.bad_request(f"the name of the object ({metadata['name']}) does not match the name on "
                                 f"the URL ({path.name})")

    def bound(pod: dict[str, object]) -> dict[str, object]:
        spec = pod.setdefault("spec", {})
        assert isinstance(spec, dict)
        if spec.get("nodeName"):
            raise errors.conflict("", "pods", path.name,
                                  f"pod {path.name} is already assigned to node \"{spec['nodeName']}\"")
        spec["nodeName"] = node
        pod_metadata = pod["metadata"]
        assert isinstance(pod_metadata, dict)
        pod_metadata.pop("resourceVersion", None)
        return pod

    await update_object(api, ResourcePath(path.strategy, path.namespace, path.name, ""), bound,
                        dry=dry_run(request))
    return respond({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                   201)


async def evict(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    eviction = await read_object(request)
    options = eviction.get("deleteOptions") or {}
    grace = options.get("gracePeriodSeconds")
    target = ResourcePath(path.strategy, path.namespace, path.name, "")
    await delete_object(api, target, DeleteOptions(grace_seconds=grace), dry=dry_run(request))
    return respond({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                   201)


async def finalize(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    namespace = await read_object(request)
    finalizers = (namespace.get("spec") or {}).get("finalizers") or []

    def finalized(current: dict[str, object]) -> dict[str, object]:
        spec = current.setdefault("spec", {})
        assert isinstance(spec, dict)
        spec["finalizers"] = finalizers
        return current

    stored = await update_object(api, ResourcePath(path.strategy, "", path.name, ""), finalized,
                                 dry=dry_run(request))
    return respond(stored)
