"""Container environment: literal values, ``fieldRef``, ``resourceFieldRef`` and ``$(VAR)`` expansion."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from api.core.v1.pods import (
    all_containers,
    annotations_of,
    labels_of,
    pod_name,
    pod_namespace,
    pod_spec,
    pod_uid,
)
from api.meta.quantity import parse_quantity
from api.model.core_v1 import Container, ObjectFieldSelector, Pod, ResourceFieldSelector

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_KEYED = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class EnvError(ValueError):
    """An env var cannot be computed (unsupported fieldPath or resource); the pod cannot start."""


@dataclass(frozen=True, kw_only=True)
class PodFacts:
    """Runtime facts downward API references can name."""

    node_name: str
    host_ip: str
    pod_ip: str = ""
    pod_ips: tuple[str, ...] = ()


def node_capacity() -> dict[str, str]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cpu": str(os.cpu_count() or 1), "memory": str(memory), "ephemeral-storage": "0"}


def field_value(pod: Pod, selector: ObjectFieldSelector, facts: PodFacts) -> str:
    path = selector.field_path
    keyed = _KEYED.match(path)
    if keyed is not None:
        source = labels_of(pod) if keyed.group(1) == "labels" else annotations_of(pod)
        return source.get(keyed.group(2), "")
    if path in ("metadata.labels", "metadata.annotations"):
        source = labels_of(pod) if path == "metadata.labels" else annotations_of(pod)
        return "\n".join(f"{k}={_go_quote(v)}" for k, v in sorted(source.items()))
    values = {
        "metadata.name": pod_name(pod),
        "metadata.namespace": pod_namespace(pod),
        "metadata.uid": pod_uid(pod),
        "spec.nodeName": facts.node_name,
        "spec.serviceAccountName": pod_spec(pod).service_account_name or "",
        "status.hostIP": facts.host_ip,
        "status.hostIPs": facts.host_ip,
        "status.podIP": facts.pod_ip,
        "status.podIPs": ",".join(facts.pod_ips or ((facts.pod_ip,) if facts.pod_ip else ())),
    }
    if path not in values:
        raise EnvError(f"unsupported fieldPath {path!r}")
    return values[path]


def _go_quote(value: str) -> str:
    """Go's %q for the kubelet's downward API label/annotation files (JSON string escaping matches)."""
    return json.dumps(value, ensure_ascii=False)


def resource_value(pod: Pod, container: Container, selector: ResourceFieldSelector) -> str:
    target = container
    if selector.container_name:
        found = [c for c in all_containers(pod) if c.name == selector.container_name]
        if not found:
            raise EnvError(f"resourceFieldRef names unknown container {selector.container_name!r}")
        target = found[0]
    kind, _, resource = selector.resource.partition(".")
    if kind not in ("limits", "requests") or resource not in ("cpu", "memory", "ephemeral-storage"):
        raise EnvError(f"unsupported resource {selector.resource!r}")
    resources = target.resources
    limits = dict(resources.limits or {}) if resources else {}
    requests = dict(resources.requests or {}) if resources else {}
    if kind == "limits":
        quantity = limits.get(resource) or node_capacity()[resource]
    else:
        quantity = requests.get(resource) or limits.get(resource) or "0"
    divisor = parse_quantity(selector.divisor or "1")
    value = parse_quantity(quantity) / divisor
    return str(-(-value.numerator // value.denominator))


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names are replaced, ``$$`` escapes, the rest stays."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _REFERENCE.sub(substitute, text)


def container_env(pod: Pod, container: Container, facts: PodFacts) -> dict[str, str]:
    env: dict[str, str] = {}
    for var in container.env or ():
        source = var.value_from
        if source is None:
            env[var.name] = expand(var.value or "", env)
        elif source.field_ref is not None:
            env[var.name] = field_value(pod, source.field_ref, facts)
        elif source.resource_field_ref is not None:
            env[var.name] = resource_value(pod, container, source.resource_field_ref)
        else:
            raise EnvError(f"env {var.name}: configMap and secret references need the apiserver")
    return env
