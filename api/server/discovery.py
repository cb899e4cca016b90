"""/version, /api, /apis and per group-version discovery, plain and aggregated (apidiscovery v2)."""

from __future__ import annotations

import platform
from typing import Any

from aiohttp import web

from api.openapi import KUBERNETES_VERSION
from api.registry.resources import Registry
from api.registry.strategy import Strategy

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # subresource: (group, version, kind or "" for the parent's, verbs)
    "status": ("", "", "", ("get", "patch", "update")),
    "binding": ("", "v1", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "finalize": ("", "", "", ("update",)),
}
# Served outside the registry: `kubectl auth whoami`.
SELF_SUBJECT_REVIEW = {"name": "selfsubjectreviews", "singularName": "selfsubjectreview", "namespaced": False,
                       "kind": "SelfSubjectReview", "verbs": ["create"]}
BINDINGS = {"name": "bindings", "singularName": "binding", "namespaced": True, "kind": "Binding",
            "verbs": ["create"]}
AUTHENTICATION_GV = ("authentication.k8s.io", "v1")


def version_info() -> dict[str, str]:
    major, minor, _ = KUBERNETES_VERSION.lstrip("v").split(".")
    return {
        "major": major, "minor": minor, "gitVersion": f"{KUBERNETES_VERSION}+tinykube",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": f"python{platform.python_version()}",
        "compiler": "cpython", "platform": f"linux/{platform.machine()}",
    }


def _sub_kind(strategy: Strategy, sub: str) -> tuple[str, str, str, tuple[str, ...]]:
    group, version, kind, verbs = SUBRESOURCE_KINDS[sub]
    if not kind:
        return strategy.group, strategy.version, strategy.kind, verbs
    return group, version, kind, verbs


def _resource_entries(strategy: Strategy) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": strategy.plural, "singularName": strategy.singular, "namespaced": strategy.namespaced,
        "kind": strategy.kind, "verbs": list(strategy.verbs),
    }
    if strategy.short_names:
        entry["shortNames"] = list(strategy.short_names)
    if strategy.categories:
        entry["categories"] = list(strategy.categories)
    entries = [entry]
    for sub in strategy.subresources:
        group, version, kind, verbs = _sub_kind(strategy, sub)
        sub_entry: dict[str, Any] = {"name": f"{strategy.plural}/{sub}", "singularName": "",
                                     "namespaced": strategy.namespaced, "kind": kind, "verbs": list(verbs)}
        if group != strategy.group or version != strategy.version:
            sub_entry |= {"group": group, "version": version}
        entries.append(sub_entry)
    return entries


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    strategies = registry.in_group_version(group, version)
    resources = [e for s in strategies for e in _resource_entries(s)]
    if (group, version) == ("", "v1"):
        resources.append(BINDINGS)
    if (group, version) == AUTHENTICATION_GV:
        resources = [SELF_SUBJECT_REVIEW]
    if not resources:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def _group_versions(registry: Registry) -> list[tuple[str, str]]:
    return [*registry.group_versions(), AUTHENTICATION_GV]


def api_versions(address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for group, version in _group_versions(registry):
        if not group:
            continue
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _aggregated_resource(strategy: Strategy) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": strategy.plural,
        "responseKind": {"group": strategy.group, "version": strategy.version, "kind": strategy.kind},
        "scope": "Namespaced" if strategy.namespaced else "Cluster",
        "singularResource": strategy.singular, "verbs": list(strategy.verbs),
    }
    if strategy.short_names:
        entry["shortNames"] = list(strategy.short_names)
    if strategy.categories:
        entry["categories"] = list(strategy.categories)
    subresources = []
    for sub in strategy.subresources:
        group, version, kind, verbs = _sub_kind(strategy, sub)
        subresources.append({"subresource": sub, "responseKind": {"group": group, "version": version,
                                                                  "kind": kind}, "verbs": list(verbs)})
    if subresources:
        entry["subresources"] = subresources
    return entry


def aggregated(registry: Registry, *, core: bool) -> dict[str, Any]:
    items = []
    for group, version in _group_versions(registry):
        if bool(group) == core:
            continue
        if (group, version) == AUTHENTICATION_GV:
            resources = [{"resource": "selfsubjectreviews", "responseKind": {
                "group": group, "version": version, "kind": "SelfSubjectReview"}, "scope": "Cluster",
                "singularResource": "selfsubjectreview", "verbs": ["create"]}]
        else:
            resources = [_aggregated_resource(s) for s in registry.in_group_version(group, version)]
        items.append({"metadata": {"name": group}, "versions": [
            {"version": version, "resources": resources, "freshness": "Current"}]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


def wants_aggregated(request: web.Request) -> bool:
    """True when the first acceptable media type the client lists is aggregated discovery v2."""
    for clause in request.headers.get("Accept", "").split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in clause.split(";")[1:] if "=" in p}
        if params.get("as") == "APIGroupDiscoveryList" and params.get("v") == "v2":
            return True
        if clause.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False
