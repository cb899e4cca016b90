"""Fully populated objects from the official Python client, as JSON pruned to Kubernetes v1.32.

Every attribute of every nested model is set, with values of the type the client declares; the
client is newer than v1.32, so fields v1.32 does not define are dropped from its JSON.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import kubernetes.client
from kubernetes.client import ApiClient

from api import openapi

_LIST = re.compile(r"[lL]ist\[(.+)\]")
_DICT = re.compile(r"[dD]ict[\[(]str, (.+)[\])]")
_FREE_FORM_OBJECTS = ("fields_v1", "raw")
_SCALARS: dict[str, Any] = {
    "str": "text",
    "int": 7,
    "float": 1.5,
    "bool": True,
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
}


def fully_populated(client_type: str, definition: str) -> dict[str, Any]:
    """`fully_populated("V1Pod", "io.k8s.api.core.v1.Pod")` as the client serialises it."""
    body = ApiClient().sanitize_for_serialization(_sample(client_type, ""))
    pruned: dict[str, Any] = _prune(body, openapi.definition(definition))
    return pruned


def _sample(type_name: str, attribute: str) -> Any:
    if type_name in _SCALARS:
        return _SCALARS[type_name]
    if type_name == "object":  # IntOrString, or a free-form object
        return {"f:metadata": {}} if attribute in _FREE_FORM_OBJECTS else 8080
    if match := _LIST.fullmatch(type_name):
        return [_sample(match.group(1), attribute)]
    if match := _DICT.fullmatch(type_name):
        return {"key": _sample(match.group(1), attribute)}
    model = getattr(kubernetes.client, type_name)
    return model(**{name: _sample(kind, name) for name, kind in model.openapi_types.items()})


def _prune(value: Any, schema: dict[str, Any]) -> Any:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = openapi.definition(ref.removeprefix("#/$defs/"))
    if isinstance(value, dict) and "properties" in schema:
        known = schema["properties"]
        return {key: _prune(item, known[key]) for key, item in value.items() if key in known}
    if isinstance(value, dict) and "additionalProperties" in schema:
        return {key: _prune(item, schema["additionalProperties"]) for key, item in value.items()}
    if isinstance(value, list) and "items" in schema:
        return [_prune(item, schema["items"]) for item in value]
    return value
