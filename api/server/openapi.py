"""/openapi/v2 and /openapi/v3: the packaged v1.32 definitions with paths for the served resources.

Documents are built once per server (per group-version for v3) and served from memory. The PATCH
operations list the ``fieldValidation`` parameter, which is how kubectl learns to validate server-side.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from api.openapi import KUBERNETES_VERSION, openapi_v2_definitions
from api.registry.resources import Registry
from api.registry.strategy import Strategy

V2_REF = "#/definitions/"
V3_REF = "#/components/schemas/"
PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")


def _query(name: str, kind: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": kind},
            "uniqueItems": True}


COMMON_WRITE = [
    _query("dryRun", "string", "When present, indicates that modifications should not be persisted."),
    _query("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is "
           "making these changes."),
    _query("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in "
           "the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, "
           "Warn (default), Strict."),
]
PATCH_PARAMETERS = [*COMMON_WRITE, _query("force", "boolean", "Force is going to \"force\" Apply requests.")]


@functools.cache
def _definitions() -> dict[str, Any]:
    return openapi_v2_definitions()


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(V2_REF):
            name = ref[len(V2_REF):]
            if name not in found:
                found.add(name)
                _refs(_definitions()[name], found)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _reachable(names: list[str]) -> set[str]:
    found = set(names)
    for name in names:
        _refs(_definitions()[name], found)
    return found


def _v3_refs(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _v3_refs(value) for key, value in node.items()}
        ref = converted.get("$ref")
        if isinstance(ref, str):
            converted["$ref"] = ref.replace(V2_REF, V3_REF)
        return converted
    if isinstance(node, list):
        return [_v3_refs(value) for value in node]
    return node


def _gvk(strategy: Strategy) -> dict[str, str]:
    return {"group": strategy.group, "version": strategy.version, "kind": strategy.kind}


def _operation(strategy: Strategy, action: str, verb: str, ref: str, parameters: list[dict[str, Any]],
               bodies: tuple[str, ...] = ()) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "description": f"{verb} the specified {strategy.kind}",
        "operationId": f"{verb}{strategy.kind}",
        "parameters": parameters,
        "responses": {"200": {"description": "OK",
                              "content": {"application/json": {"schema": {"$ref": ref}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(strategy),
    }
    if bodies:
        content = {media: {"schema": {"$ref": ref}} for media in bodies}
        operation["requestBody"] = {"content": content, "required": True}
    return operation


def _paths(strategy: Strategy, ref: str) -> dict[str, Any]:
    base = f"/apis/{strategy.group}/{strategy.version}" if strategy.group else "/api/v1"
    scope = f"{base}/namespaces/{{namespace}}" if strategy.namespaced else base
    collection = f"{scope}/{strategy.plural}"
    item = f"{collection}/{{name}}"
    json_body = ("application/json", "application/yaml")
    return {
        collection: {
            "get": _operation(strategy, "list", "list", ref, []),
            "post": _operation(strategy, "post", "create", ref, COMMON_WRITE, json_body),
        },
        item: {
            "get": _operation(strategy, "get", "read", ref, []),
            "put": _operation(strategy, "put", "replace", ref, COMMON_WRITE, json_body),
            "patch": _operation(strategy, "patch", "patch", ref, PATCH_PARAMETERS, PATCH_TYPES),
            "delete": _operation(strategy, "delete", "delete", ref, []),
        },
    }


def _info() -> dict[str, str]:
    return {"title": "Kubernetes", "version": KUBERNETES_VERSION}


class OpenApi:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @functools.cached_property
    def v2(self) -> bytes:
        paths: dict[str, Any] = {}
        for strategy in self.registry.resources:
            for path, operations in _paths(strategy, V2_REF + strategy.definition).items():
                paths[path] = {verb: _v2_operation(op) for verb, op in operations.items()}
        document = {"swagger": "2.0", "info": _info(), "paths": paths, "definitions": _definitions()}
        return json.dumps(document, separators=(",", ":")).encode()

    @functools.cached_property
    def v3_documents(self) -> dict[str, bytes]:
        documents = {}
        for group, version in self.registry.group_versions():
            strategies = self.registry.in_group_version(group, version)
            names = sorted(_reachable([s.definition for s in strategies]) | _reachable(
                ["io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]))
            paths: dict[str, Any] = {}
            for strategy in strategies:
                paths |= _paths(strategy, V3_REF + strategy.definition)
            document = {"openapi": "3.0.0", "info": _info(), "paths": paths,
                        "components": {"schemas": {n: _v3_refs(_definitions()[n]) for n in names}}}
            key = f"apis/{group}/{version}" if group else "api/v1"
            documents[key] = json.dumps(document, separators=(",", ":")).encode()
        return documents

    @functools.cached_property
    def v3_index(self) -> bytes:
        paths = {key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={_hash(body)}"}
                 for key, body in self.v3_documents.items()}
        return json.dumps({"paths": paths}, separators=(",", ":")).encode()


def _hash(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def etag(body: bytes) -> str:
    return f'"{_hash(body)}"'


def _v2_operation(operation: dict[str, Any]) -> dict[str, Any]:
    converted = {k: v for k, v in operation.items() if k not in ("requestBody", "responses")}
    converted["parameters"] = [
        {k: v for k, v in p.items() if k != "schema"} | {"type": p["schema"]["type"]}
        for p in operation["parameters"]
    ]
    converted["responses"] = {"200": {"description": "OK"}}
    body = operation.get("requestBody")
    if body:
        schema = next(iter(body["content"].values()))["schema"]
        converted["parameters"].append({"name": "body", "in": "body", "required": True, "schema": schema})
        converted["consumes"] = list(body["content"])
    converted["produces"] = ["application/json", "application/yaml"]
    return converted
