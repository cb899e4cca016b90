"""The Kubernetes v1.32 API definitions, packaged with the project.

`definitions-v1.32.json` is Kubernetes v1.32.0's OpenAPI definitions as JSON Schema (638 types,
`$defs`, OpenAPI extensions kept), converted by the `kubernetes-validate` package (1.37.0,
Apache-2.0). Optional fields are nullable (`"type": [..., "null"]`) and refs read `#/$defs/`;
`openapi_v2_definitions()` undoes both for serving OpenAPI v2.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

KUBERNETES_VERSION = "v1.32.0"
DEFINITIONS_FILE = "definitions-v1.32.json"

JsonSchema = dict[str, Any]


@functools.cache
def _load() -> dict[str, JsonSchema]:
    text = resources.files(__package__).joinpath(DEFINITIONS_FILE).read_text(encoding="utf-8")
    definitions: dict[str, JsonSchema] = json.loads(text)["$defs"]
    return definitions


def shared_definitions() -> dict[str, JsonSchema]:
    """Every definition, the one cached copy: for readers that never change it (no copy cost)."""
    return _load()


def definitions() -> dict[str, JsonSchema]:
    """Every definition by its OpenAPI name (e.g. `io.k8s.api.core.v1.Pod`); a fresh copy."""
    return copy.deepcopy(_load())


def definition(name: str) -> JsonSchema:
    """One definition by its OpenAPI name; KeyError names an unknown type."""
    return copy.deepcopy(_load()[name])


def definition_names() -> list[str]:
    return sorted(_load())


def group_version_kinds(name: str) -> list[dict[str, str]]:
    """The `x-kubernetes-group-version-kind` entries of a definition (empty for non-kinds)."""
    entries: list[dict[str, str]] = _load()[name].get("x-kubernetes-group-version-kind", [])
    return [dict(entry) for entry in entries]


def openapi_v2_definitions() -> dict[str, JsonSchema]:
    """The definitions as OpenAPI v2 wants them: `#/definitions/` refs, no nullable types."""
    return {name: _to_openapi_v2(schema) for name, schema in _load().items()}


def _to_openapi_v2(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _to_openapi_v2(value) for key, value in node.items()}
        ref = converted.get("$ref")
        if isinstance(ref, str):
            converted["$ref"] = ref.replace("#/$defs/", "#/definitions/")
        kind = converted.get("type")
        if isinstance(kind, list):
            concrete = [entry for entry in kind if entry != "null"]
            if len(concrete) == 1:
                converted["type"] = concrete[0]
            elif not concrete:
                del converted["type"]
            else:
                converted["type"] = concrete
        return converted
    if isinstance(node, list):
        return [_to_openapi_v2(entry) for entry in node]
    return node
