"""What controllers read from pods and owner references (upstream's controller_utils and podutil)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from api.client.types import Obj, meta


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for reference in meta(obj).get("ownerReferences") or ():
        if reference.get("controller"):
            return dict(reference)
    return None


def owner_reference(owner: Mapping[str, Any]) -> Obj:
    metadata = meta(owner)
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_active(pod: Mapping[str, Any]) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not meta(pod).get("deletionTimestamp")


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    condition = _ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def available_in(pod: Mapping[str, Any], min_ready_seconds: float, now: datetime) -> float | None:
    """Seconds until a ready pod counts as available (0: it is), None when it is not ready."""
    condition = _ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    if min_ready_seconds <= 0 or not condition.get("lastTransitionTime"):
        return 0.0
    ready_for = (now - parse_time(str(condition["lastTransitionTime"]))).total_seconds()
    return max(0.0, min_ready_seconds - ready_for)


def pod_from_template(owner: Mapping[str, Any], template: Mapping[str, Any]) -> Obj:
    """A pod for ``owner`` from its template: generateName ``<owner>-``, its labels, an owner reference."""
    template_meta = template.get("metadata") or {}
    metadata = {
        "generateName": f"{meta(owner)['name']}-",
        "namespace": meta(owner)["namespace"],
        "labels": dict(template_meta.get("labels") or {}),
        "annotations": dict(template_meta.get("annotations") or {}),
        "ownerReferences": [owner_reference(owner)],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: Mapping[str, Any]) -> tuple[int, int, int]:
    """Pods to delete first sort first: unscheduled, pending, not ready (upstream's ActivePods order)."""
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase", "Pending")
    return (1 if spec.get("nodeName") else 0, _PHASE_RANK.get(phase, 0), 1 if is_ready(pod) else 0)
