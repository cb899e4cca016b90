"""Group-version-resource descriptors and the REST paths the apiserver serves them under."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    has_status: bool = False
    """Whether ``status`` is a subresource: then writes to the object leave status alone, and back."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``pods`` or ``deployments.apps``, as Status details and error messages name a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(
        self, *, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [prefix]
        if self.namespaced and namespace is not None:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
            if subresource is not None:
                parts.append(subresource)
        elif subresource is not None:
            raise ValueError(f"subresource {subresource!r} of {self.group_resource} needs an object name")
        return "/".join(parts)


def _core(plural: str, kind: str, *, namespaced: bool = True, has_status: bool = False) -> Resource:
    return Resource(
        group="", version="v1", plural=plural, kind=kind, namespaced=namespaced, has_status=has_status
    )


NAMESPACES = _core("namespaces", "Namespace", namespaced=False, has_status=True)
NODES = _core("nodes", "Node", namespaced=False, has_status=True)
PODS = _core("pods", "Pod", has_status=True)
SERVICES = _core("services", "Service", has_status=True)
ENDPOINTS = _core("endpoints", "Endpoints")
CONFIGMAPS = _core("configmaps", "ConfigMap")
SECRETS = _core("secrets", "Secret")
SERVICEACCOUNTS = _core("serviceaccounts", "ServiceAccount")
EVENTS = _core("events", "Event")
LEASES = Resource(group="coordination.k8s.io", version="v1", plural="leases", kind="Lease")
DEPLOYMENTS = Resource(group="apps", version="v1", plural="deployments", kind="Deployment", has_status=True)
REPLICASETS = Resource(group="apps", version="v1", plural="replicasets", kind="ReplicaSet", has_status=True)
DAEMONSETS = Resource(group="apps", version="v1", plural="daemonsets", kind="DaemonSet", has_status=True)
ENDPOINTSLICES = Resource(
    group="discovery.k8s.io", version="v1", plural="endpointslices", kind="EndpointSlice"
)
JOBS = Resource(group="batch", version="v1", plural="jobs", kind="Job", has_status=True)
