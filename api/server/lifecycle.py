"""Object metadata the server owns: names, uid, timestamps, generation, and the checks that a body
belongs at the URL it was sent to."""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
import uuid
from typing import Any

from api.core.v1.validation_names import dns_label, dns_subdomain
from api.machinery import status as errors
from api.meta.errors import FieldError, required
from api.registry.strategy import Object, Strategy

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # apiserver/pkg/storage/names: no vowels, no 0/1/3
SYSTEM_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "generation", "selfLink")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(base: str) -> str:
    return base[:58] + "".join(secrets.choice(_ALPHANUMS) for _ in range(5))


def metadata_of(obj: Object) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = obj["metadata"] = {}
    if not isinstance(metadata, dict):
        raise errors.bad_request("metadata must be an object")
    return metadata


def check_type(strategy: Strategy, obj: Object) -> None:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not kind:
        text = json.dumps(obj, separators=(",", ":"))
        raise errors.bad_request(f"Object 'Kind' is missing in '{text[:500]}'")
    if api_version and api_version != strategy.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({strategy.api_version})"
        )
    if kind != strategy.kind:
        raise errors.bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({strategy.kind})"
        )
    obj["apiVersion"] = strategy.api_version
    obj["kind"] = strategy.kind


def check_namespace(strategy: Strategy, obj: Object, namespace: str) -> None:
    metadata = metadata_of(obj)
    if not strategy.namespaced:
        metadata.pop("namespace", None)
        return
    given = metadata.get("namespace")
    if given and given != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    metadata["namespace"] = namespace


def name_errors(strategy: Strategy, name: str) -> list[FieldError]:
    if not name:
        return [required("metadata.name", "name or generateName is required")]
    check = dns_label if strategy.name_is_label else dns_subdomain
    return check("metadata.name", name)


def prepare_create(strategy: Strategy, obj: Object) -> None:
    metadata = metadata_of(obj)
    for key in SYSTEM_FIELDS:
        metadata.pop(key, None)
    metadata.pop("resourceVersion", None)
    if not metadata.get("name") and metadata.get("generateName"):
        metadata["name"] = generate_name(str(metadata["generateName"]))
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now()
    if strategy.has_generation:
        metadata["generation"] = 1
    if "status" in strategy.subresources and strategy.kind not in ("Namespace", "Node"):
        obj["status"] = {}  # a node keeps its status: the kubelet registers it with capacity and addresses
    strategy.default(obj)


def validate(strategy: Strategy, obj: Object) -> None:
    metadata = metadata_of(obj)
    name = str(metadata.get("name") or "")
    problems = name_errors(strategy, name) + strategy.validate(obj)
    if problems:
        raise errors.invalid(strategy.group, strategy.kind, name, problems)


def _content(obj: Object) -> Object:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_update(strategy: Strategy, new: Object, old: Object, *, subresource: str) -> Object:
    """The object to store: the client's changes to the part of the object this endpoint owns."""
    if subresource == "status":
        merged = copy.deepcopy(old)
        merged["status"] = new.get("status", {})
        new_metadata = metadata_of(new)
        if new_metadata.get("resourceVersion"):
            metadata_of(merged)["resourceVersion"] = new_metadata["resourceVersion"]
        return merged
    metadata, old_metadata = metadata_of(new), metadata_of(old)
    for key in SYSTEM_FIELDS:
        if key in old_metadata:
            metadata[key] = old_metadata[key]
        else:
            metadata.pop(key, None)
    if "status" in strategy.subresources:
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    strategy.default(new)
    if strategy.has_generation and _content(new) != _content(old):
        metadata["generation"] = int(old_metadata.get("generation", 1)) + 1
    return new
