"""Reading Pods from YAML or JSON manifests as users write them, and writing them back as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from api.core.v1.defaults import default_pod
from api.core.v1.validation import validate_pod
from api.meta.errors import FieldError, InvalidObjectError, invalid, not_supported, required
from api.model.core_v1 import Pod, PodList
from api.openapi.check import check


class ManifestError(ValueError):
    """The text is not a YAML/JSON document describing a v1 Pod."""


@dataclass(frozen=True, kw_only=True)
class DecodedPod:
    pod: Pod
    unknown_fields: tuple[str, ...] = ()


POD_DEFINITION = "io.k8s.api.core.v1.Pod"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_document(text: str | bytes) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ManifestError(f"invalid YAML/JSON: {exc}") from exc


def decode_pod(data: Any) -> DecodedPod:
    """Decodes, defaults and validates one Pod; raises InvalidObjectError listing every problem."""
    if not isinstance(data, dict):
        raise ManifestError("a manifest must be an object with apiVersion, kind, metadata and spec")
    name = str((data.get("metadata") or {}).get("name") or "")
    errors = _type_meta_errors(data)
    if errors:  # not a v1 Pod: its fields are not checked against Pod's
        raise InvalidObjectError(kind="Pod", name=name, errors=errors)
    checked = check(POD_DEFINITION, data)
    errors = checked.errors
    if errors:
        raise InvalidObjectError(kind="Pod", name=name, errors=errors)
    defaulted = default_pod(Pod.from_dict(data))
    errors = validate_pod(defaulted)
    if errors:
        raise InvalidObjectError(kind="Pod", name=name, errors=errors)
    return DecodedPod(pod=defaulted, unknown_fields=tuple(checked.unknown_fields))


def _type_meta_errors(data: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if "kind" not in data:
        errors.append(required("kind"))
    elif data["kind"] != "Pod":
        errors.append(not_supported("kind", data["kind"], ("Pod",)))
    if "apiVersion" not in data:
        errors.append(required("apiVersion"))
    elif data["apiVersion"] != "v1":
        errors.append(invalid("apiVersion", data["apiVersion"], "a Pod is served as apiVersion v1"))
    return errors


def load_pod(text: str | bytes) -> DecodedPod:
    return decode_pod(parse_document(text))


def pod_to_dict(pod: Pod) -> dict[str, Any]:
    return pod.to_dict()


def pod_list_to_dict(pods: PodList) -> dict[str, Any]:
    result = pods.to_dict()
    result.setdefault("metadata", {})
    return result


def pod_to_json(pod: Pod) -> str:
    return json.dumps(pod_to_dict(pod), sort_keys=False)
