"""Every resource the apiserver serves, by group/version and plural."""

from __future__ import annotations

from api.registry.apps import DAEMONSETS, DEPLOYMENTS, ENDPOINT_SLICES, EVENTS_V1, LEASES, REPLICASETS
from api.registry.core import (
    CONFIGMAPS,
    ENDPOINTS,
    EVENTS,
    NAMESPACES,
    NODES,
    SECRETS,
    SERVICE_ACCOUNTS,
    SERVICES,
)
from api.registry.pods import PODS
from api.registry.strategy import Strategy

RESOURCES: tuple[Strategy, ...] = (
    NAMESPACES, PODS, NODES, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, SERVICE_ACCOUNTS, EVENTS,
    DEPLOYMENTS, REPLICASETS, DAEMONSETS, LEASES, ENDPOINT_SLICES, EVENTS_V1,
)

GROUP_ORDER = ("", "apps", "events.k8s.io", "coordination.k8s.io", "discovery.k8s.io")


class Registry:
    """Lookups by (group, version, plural) and the group-versions in discovery order."""

    def __init__(self, resources: tuple[Strategy, ...] = RESOURCES) -> None:
        self.resources = resources
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}

    def lookup(self, group: str, version: str, plural: str) -> Strategy | None:
        return self._by_path.get((group, version, plural))

    def group_versions(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for resource in sorted(self.resources, key=lambda r: GROUP_ORDER.index(r.group)):
            if resource.group_version not in seen:
                seen.append(resource.group_version)
        return seen

    def in_group_version(self, group: str, version: str) -> list[Strategy]:
        return [r for r in self.resources if r.group_version == (group, version)]
