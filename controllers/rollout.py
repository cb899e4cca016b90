"""The arithmetic of a Deployment rollout (upstream's deployment/util): template hash, surge and
unavailability bounds, revisions."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from api.client.types import meta

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    """A stable, label-safe hash of a pod template (without its pod-template-hash label)."""
    digest = hashlib.sha256(json.dumps([_without_hash(template), collision_count], sort_keys=True).encode())
    number = int.from_bytes(digest.digest()[:8], "big")
    out = ""
    for _ in range(10):
        number, index = divmod(number, len(_SAFE_ALPHABET))
        out += _SAFE_ALPHABET[index]
    return out


def _without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    template = dict(template)
    metadata = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != POD_TEMPLATE_HASH}
    metadata["labels"] = labels
    template["metadata"] = {k: v for k, v in metadata.items() if v not in ({}, None)}
    return template


def same_template(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return _without_hash(a) == _without_hash(b)


def _resolve(value: Any, total: int, *, round_up: bool, default: str) -> int:
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        scaled = float(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value)


def surge_and_unavailable(deployment: Mapping[str, Any]) -> tuple[int, int]:
    """maxSurge (rounded up) and maxUnavailable (rounded down) of a RollingUpdate, never both 0."""
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = _resolve(rolling.get("maxSurge"), replicas, round_up=True, default="25%")
    unavailable = _resolve(rolling.get("maxUnavailable"), replicas, round_up=False, default="25%")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def revision(obj: Mapping[str, Any]) -> int:
    value = (meta(obj).get("annotations") or {}).get(REVISION, "0")
    return int(value) if str(value).isdigit() else 0


def max_revision(replicasets: Iterable[Mapping[str, Any]]) -> int:
    return max((revision(rs) for rs in replicasets), default=0)


def spec_replicas(rs: Mapping[str, Any]) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def status_count(rs: Mapping[str, Any], field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))
