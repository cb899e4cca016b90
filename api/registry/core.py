"""core/v1 kinds other than pods: namespaces, nodes, services, endpoints, configmaps, secrets,
serviceaccounts, events."""

from __future__ import annotations

from typing import Any

from api.meta.errors import FieldError, invalid, not_supported, required
from api.registry.printing import AGE, NAME, none_if_empty, since, spec, status
from api.registry.strategy import Column, Object, Strategy


def default_namespace(namespace: Object) -> None:
    metadata = namespace.setdefault("metadata", {})
    labels = metadata.setdefault("labels", {})
    if isinstance(labels, dict) and metadata.get("name"):
        labels["kubernetes.io/metadata.name"] = metadata["name"]
    namespace.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    namespace.setdefault("status", {}).setdefault("phase", "Active")


NAMESPACES = Strategy(
    group="", version="v1", kind="Namespace", plural="namespaces", namespaced=False,
    short_names=("ns",), subresources=("status", "finalize"), name_is_label=True,
    definition="io.k8s.api.core.v1.Namespace", default=default_namespace,
    columns=(NAME, Column("Status", "string", lambda n: status(n).get("phase", ""),
                          "The status of the namespace"), AGE),
    selectable_fields={"status.phase": lambda n: str(status(n).get("phase", ""))},
)


def _node_status(node: Object) -> str:
    ready = [c for c in status(node).get("conditions") or [] if c.get("type") == "Ready"]
    text = "Unknown" if not ready else ("Ready" if ready[0].get("status") == "True" else "NotReady")
    if spec(node).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def _node_roles(node: Object) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.removeprefix("node-role.kubernetes.io/") for k in labels
                   if k.startswith("node-role.kubernetes.io/"))
    return ",".join(roles) or "<none>"


def _node_address(node: Object, kind: str) -> str:
    for address in status(node).get("addresses") or []:
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def _node_info(node: Object, key: str) -> str:
    return str((status(node).get("nodeInfo") or {}).get(key, ""))


NODES = Strategy(
    group="", version="v1", kind="Node", plural="nodes", namespaced=False, short_names=("no",),
    subresources=("status",), definition="io.k8s.api.core.v1.Node",
    columns=(
        NAME,
        Column("Status", "string", _node_status, "The status of the node"),
        Column("Roles", "string", _node_roles, "The roles of the node"),
        AGE,
        Column("Version", "string", lambda n: _node_info(n, "kubeletVersion"), "Kubelet Version"),
        Column("Internal-IP", "string", lambda n: _node_address(n, "InternalIP"),
               "List of internal IPs in the node.", priority=1),
        Column("External-IP", "string", lambda n: _node_address(n, "ExternalIP"),
               "List of external IPs in the node.", priority=1),
        Column("OS-Image", "string", lambda n: _node_info(n, "osImage"), "OS image.", priority=1),
        Column("Kernel-Version", "string", lambda n: _node_info(n, "kernelVersion"),
               "Kernel version.", priority=1),
        Column("Container-Runtime", "string", lambda n: _node_info(n, "containerRuntimeVersion"),
               "Container runtime version.", priority=1),
    ),
    selectable_fields={"spec.unschedulable": lambda n: str(bool(spec(n).get("unschedulable"))).lower()},
)

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def default_service(service: Object) -> None:
    service_spec = service.setdefault("spec", {})
    if not isinstance(service_spec, dict):
        return
    service_spec.setdefault("type", "ClusterIP")
    service_spec.setdefault("sessionAffinity", "None")
    service_spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in service_spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    service.setdefault("status", {}).setdefault("loadBalancer", {})


def validate_service(service: Object) -> list[FieldError]:
    service_spec = spec(service)
    errors: list[FieldError] = []
    kind = service_spec.get("type")
    if kind not in SERVICE_TYPES:
        errors.append(not_supported("spec.type", kind, SERVICE_TYPES))
    ports = service_spec.get("ports") or []
    if not ports and kind != "ExternalName" and service_spec.get("clusterIP") != "None":
        errors.append(required("spec.ports"))
    for index, port in enumerate(ports):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(invalid(f"spec.ports[{index}].port", number, "must be between 1 and 65535, "
                                  "inclusive"))
    return errors


def _ports(service: Object) -> str:
    parts = []
    for port in spec(service).get("ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _selector(selector: Any) -> str:
    if not selector:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


SERVICES = Strategy(
    group="", version="v1", kind="Service", plural="services", short_names=("svc",),
    categories=("all",), subresources=("status",), store_prefix="services/specs", name_is_label=True,
    definition="io.k8s.api.core.v1.Service", default=default_service, validate=validate_service,
    columns=(
        NAME,
        Column("Type", "string", lambda s: spec(s).get("type", ""), "The type of the service."),
        Column("Cluster-IP", "string", lambda s: none_if_empty(spec(s).get("clusterIP", "")),
               "The IP address of the service."),
        Column("External-IP", "string", lambda s: ",".join(spec(s).get("externalIPs") or []) or "<none>",
               "The external IP addresses of the service."),
        Column("Port(s)", "string", _ports, "The ports of the service."),
        AGE,
        Column("Selector", "string", lambda s: _selector(spec(s).get("selector")),
               "The label selector of the service.", priority=1),
    ),
)


def _endpoint_addresses(endpoints: Object) -> str:
    shown = []
    for subset in endpoints.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            shown += [f"{address.get('ip')}:{p}" if p else str(address.get("ip")) for p in ports]
    if not shown:
        return "<none>"
    return ",".join(shown[:3]) + (f" + {len(shown) - 3} more..." if len(shown) > 3 else "")


ENDPOINTS = Strategy(
    group="", version="v1", kind="Endpoints", plural="endpoints", short_names=("ep",),
    definition="io.k8s.api.core.v1.Endpoints",
    columns=(NAME, Column("Endpoints", "string", _endpoint_addresses, "Endpoints of the service."), AGE),
)

CONFIGMAPS = Strategy(
    group="", version="v1", kind="ConfigMap", plural="configmaps", short_names=("cm",),
    definition="io.k8s.api.core.v1.ConfigMap",
    columns=(NAME, Column("Data", "integer", lambda c: len(c.get("data") or {}) + len(
        c.get("binaryData") or {}), "Number of data entries."), AGE),
)


def default_secret(secret: Object) -> None:
    secret.setdefault("type", "Opaque")


SECRETS = Strategy(
    group="", version="v1", kind="Secret", plural="secrets", definition="io.k8s.api.core.v1.Secret",
    default=default_secret,
    columns=(NAME, Column("Type", "string", lambda s: s.get("type", ""), "The type of the secret."),
             Column("Data", "integer", lambda s: len(s.get("data") or {}), "Number of data entries."), AGE),
    selectable_fields={"type": lambda s: str(s.get("type", ""))},
)

SERVICE_ACCOUNTS = Strategy(
    group="", version="v1", kind="ServiceAccount", plural="serviceaccounts", short_names=("sa",),
    definition="io.k8s.api.core.v1.ServiceAccount",
    columns=(NAME, Column("Secrets", "string", lambda s: str(len(s.get("secrets") or [])),
                          "Number of secrets."), AGE),
)


def _involved(event: Object, key: str) -> str:
    return str((event.get("involvedObject") or {}).get(key, ""))


def _event_object(event: Object) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _last_seen(event: Object) -> str:
    return since(event.get("lastTimestamp") or event.get("eventTime")
                 or (event.get("metadata") or {}).get("creationTimestamp"))


EVENT_FIELDS = {
    f"involvedObject.{key}": (lambda e, key=key: _involved(e, key))
    for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
} | {
    "reason": lambda e: str(e.get("reason", "")),
    "reportingComponent": lambda e: str(e.get("reportingComponent", "")),
    "source": lambda e: str((e.get("source") or {}).get("component", "")),
    "type": lambda e: str(e.get("type", "")),
}

EVENTS = Strategy(
    group="", version="v1", kind="Event", plural="events", short_names=("ev",),
    definition="io.k8s.api.core.v1.Event",
    columns=(
        Column("Last Seen", "string", _last_seen, "Time when last event occurred."),
        Column("Type", "string", lambda e: str(e.get("type", "")), "Type of event."),
        Column("Reason", "string", lambda e: str(e.get("reason", "")), "Reason of event."),
        Column("Object", "string", _event_object, "Object the event is about."),
        Column("Message", "string", lambda e: str(e.get("message", "")).strip(), "Message of event."),
    ),
    selectable_fields=EVENT_FIELDS,
)
