"""What a resource request asks for: the resource path, the verb, the body and the response form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from api.machinery import protobuf
from api.machinery import status as errors
from api.registry.resources import Registry
from api.registry.strategy import Object, Strategy

MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's --max-resource-write-bytes default
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ResourcePath:
    strategy: Strategy
    namespace: str
    name: str
    subresource: str


def split_path(segments: list[str]) -> tuple[str, str, str, str] | None:
    """``namespaces/<ns>/<plural>/<name>/<sub>`` or ``<plural>/<name>/<sub>`` → (ns, plural, name, sub)."""
    if len(segments) >= 3 and segments[0] == "namespaces" and not (
        len(segments) == 3 and segments[2] in NAMESPACE_SUBRESOURCES
    ):
        namespace, rest = segments[1], segments[2:]
    else:
        namespace, rest = "", segments
    if not 1 <= len(rest) <= 3 or not all(rest):
        return None
    rest += [""] * (3 - len(rest))
    return namespace, rest[0], rest[1], rest[2]


def resolve(registry: Registry, group: str, version: str, segments: list[str]) -> ResourcePath:
    parts = split_path(segments)
    if parts is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    namespace, plural, name, subresource = parts
    strategy = registry.lookup(group, version, plural)
    if strategy is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    if namespace and not strategy.namespaced:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    if subresource and subresource not in strategy.subresources:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    return ResourcePath(strategy, namespace, name, subresource)


def media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise errors.entity_too_large(MAX_BODY_BYTES)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise errors.entity_too_large(MAX_BODY_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_document(body: bytes, content_type: str) -> Any:
    if content_type in ("application/json", "application/merge-patch+json",
                        "application/strategic-merge-patch+json", "application/json-patch+json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"error decoding JSON: {exc}") from exc
    if content_type in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
        try:
            return yaml.load(body, Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error converting YAML to JSON: {exc}") from exc
    if content_type == protobuf.MEDIA_TYPE:
        try:
            return protobuf.decode(body)
        except protobuf.ProtobufError as exc:
            raise errors.bad_request(str(exc)) from exc
    raise errors.unsupported_media_type(content_type)


async def read_object(request: web.Request) -> Object:
    document = parse_document(await read_body(request), media_type(request))
    if not isinstance(document, dict):
        raise errors.bad_request("the body of the request must be a JSON or YAML object")
    return document


@dataclass(frozen=True)
class Output:
    """How the client wants the response: a Table, PartialObjectMetadata, or the object."""

    table: bool = False
    metadata_only: bool = False


def negotiate(request: web.Request) -> Output:
    accept = request.headers.get("Accept", "")
    for clause in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in clause.split(";")[1:] if "=" in p}
        kind = params.get("as")
        if kind == "Table":
            return Output(table=True)
        if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Output(metadata_only=True)
    return Output()


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)
