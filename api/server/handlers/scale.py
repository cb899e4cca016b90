"""<workload>/scale: the autoscaling/v1 Scale view of a workload's replicas (GET, PUT, PATCH)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.machinery import status as errors
from api.machinery.patch import PatchError, json_patch, merge_patch
from api.registry.strategy import Object
from api.server.handlers.context import Api, respond
from api.server.handlers.write import update_object
from api.server.request import ResourcePath, dry_run, media_type, parse_document, read_body, read_object


def _selector(workload: Object) -> str:
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def to_scale(workload: Object) -> dict[str, Any]:
    metadata = workload["metadata"]
    kept = {k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in metadata}
    status = workload.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": kept,
            "spec": {"replicas": (workload.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": _selector(workload)}}


def _replicas(scale: Any, name: str) -> int:
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        from api.meta.errors import invalid

        raise errors.invalid("autoscaling", "Scale", name, [
            invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
    return replicas


async def scale(api: Api, request: web.Request, path: ResourcePath) -> web.Response:
    workload_path = ResourcePath(path.strategy, path.namespace, path.name, "")
    current = await api.objects.get(path.strategy, path.namespace, path.name)
    if request.method == "GET":
        return respond(to_scale(current))
    if request.method == "PUT":
        wanted = await read_object(request)
    else:
        kind = media_type(request)
        body = parse_document(await read_body(request), kind)
        try:
            wanted = json_patch(to_scale(current), body) if kind == "application/json-patch+json" \
                else merge_patch(to_scale(current), body)
        except PatchError as exc:
            raise errors.ApiError(422, "Invalid", str(exc)) from exc
    replicas = _replicas(wanted, path.name)
    precondition = (wanted.get("metadata") or {}).get("resourceVersion") if request.method == "PUT" else None

    def scaled(workload: Object) -> Object:
        if precondition:
            workload["metadata"]["resourceVersion"] = precondition
        workload.setdefault("spec", {})["replicas"] = replicas
        return workload

    stored = await update_object(api, workload_path, scaled, dry=dry_run(request))
    return respond(to_scale(stored))
