"""apps/v1 (deployments, replicasets, daemonsets), coordination.k8s.io/v1 leases,
discovery.k8s.io/v1 endpointslices and events.k8s.io/v1 events."""

from __future__ import annotations

from typing import Any

from api.meta.errors import FieldError, invalid, required
from api.registry.core import EVENT_FIELDS
from api.registry.printing import AGE, NAME, since, spec, status
from api.registry.strategy import Column, Object, Strategy


def _template_spec(workload: Object) -> dict[str, Any]:
    template = spec(workload).get("template")
    return template if isinstance(template, dict) else {}


def _default_template(workload: Object) -> None:
    from api.registry.pods import default_pod

    template = _template_spec(workload)
    if template:
        default_pod(template)
        template.pop("status", None)
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)


def default_deployment(deployment: Object) -> None:
    deployment_spec = deployment.setdefault("spec", {})
    deployment_spec.setdefault("replicas", 1)
    deployment_spec.setdefault("revisionHistoryLimit", 10)
    deployment_spec.setdefault("progressDeadlineSeconds", 600)
    strategy = deployment_spec.setdefault("strategy", {})
    if isinstance(strategy, dict) and not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if isinstance(strategy, dict) and strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
    _default_template(deployment)
    deployment.setdefault("status", {})


def default_replicated(workload: Object) -> None:
    workload_spec = workload.setdefault("spec", {})
    workload_spec.setdefault("replicas", 1)
    _default_template(workload)
    workload.setdefault("status", {"replicas": 0})


def default_daemonset(daemonset: Object) -> None:
    daemonset_spec = daemonset.setdefault("spec", {})
    daemonset_spec.setdefault("revisionHistoryLimit", 10)
    daemonset_spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": 1, "maxSurge": 0}})
    _default_template(daemonset)
    daemonset.setdefault("status", {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                                    "desiredNumberScheduled": 0, "numberReady": 0})


def validate_workload(workload: Object) -> list[FieldError]:
    workload_spec = spec(workload)
    errors: list[FieldError] = []
    selector = workload_spec.get("selector")
    labels = (_template_spec(workload).get("metadata") or {}).get("labels") or {}
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        errors.append(required("spec.selector"))
    else:
        wanted = selector.get("matchLabels") or {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            errors.append(invalid("spec.template.metadata.labels", labels,
                                  "`selector` does not match template `labels`"))
    replicas = workload_spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        errors.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    from api.registry.pods import validate_pod_spec

    return errors + validate_pod_spec(_template_spec(workload).get("spec"), "spec.template.spec")


def _count(workload: Object, key: str) -> int:
    return int(status(workload).get(key) or 0)


def _images(workload: Object, key: str) -> str:
    containers = (_template_spec(workload).get("spec") or {}).get("containers") or []
    return ",".join(str(c.get(key, "")) for c in containers)


def _selector_text(workload: Object) -> str:
    labels = (spec(workload).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


CONTAINERS = Column("Containers", "string", lambda w: _images(w, "name"),
                    "Names of each container in the template.", priority=1)
IMAGES = Column("Images", "string", lambda w: _images(w, "image"),
                "Images referenced by each container in the template.", priority=1)
SELECTOR = Column("Selector", "string", _selector_text, "Label selector.", priority=1)

DEPLOYMENTS = Strategy(
    group="apps", version="v1", kind="Deployment", plural="deployments", short_names=("deploy",),
    categories=("all",), subresources=("status", "scale"), definition="io.k8s.api.apps.v1.Deployment",
    has_generation=True, default=default_deployment, validate=validate_workload,
    columns=(
        NAME,
        Column("Ready", "string", lambda d: f"{_count(d, 'readyReplicas')}/{spec(d).get('replicas', 0)}",
               "Number of the pod with ready state"),
        Column("Up-to-date", "integer", lambda d: _count(d, "updatedReplicas"),
               "Total number of non-terminated pods targeted by this deployment that have the desired "
               "template spec."),
        Column("Available", "integer", lambda d: _count(d, "availableReplicas"),
               "Total number of available pods (ready for at least minReadySeconds) targeted by this "
               "deployment."),
        AGE, CONTAINERS, IMAGES, SELECTOR,
    ),
)

REPLICASETS = Strategy(
    group="apps", version="v1", kind="ReplicaSet", plural="replicasets", short_names=("rs",),
    categories=("all",), subresources=("status", "scale"), definition="io.k8s.api.apps.v1.ReplicaSet",
    has_generation=True, default=default_replicated, validate=validate_workload,
    columns=(
        NAME,
        Column("Desired", "integer", lambda r: spec(r).get("replicas", 0), "Number of desired pods."),
        Column("Current", "integer", lambda r: _count(r, "replicas"), "Number of actually running pods."),
        Column("Ready", "integer", lambda r: _count(r, "readyReplicas"), "Number of ready pods."),
        AGE, CONTAINERS, IMAGES, SELECTOR,
    ),
    selectable_fields={"status.replicas": lambda r: str(_count(r, "replicas"))},
)

DAEMONSETS = Strategy(
    group="apps", version="v1", kind="DaemonSet", plural="daemonsets", short_names=("ds",),
    categories=("all",), subresources=("status",), definition="io.k8s.api.apps.v1.DaemonSet",
    has_generation=True, default=default_daemonset, validate=validate_workload,
    columns=(
        NAME,
        Column("Desired", "integer", lambda d: _count(d, "desiredNumberScheduled"),
               "The total number of nodes that should be running the daemon pod."),
        Column("Current", "integer", lambda d: _count(d, "currentNumberScheduled"),
               "The number of nodes running at least one daemon pod."),
        Column("Ready", "integer", lambda d: _count(d, "numberReady"),
               "The number of nodes that should be running the daemon pod and have one or more running "
               "and ready."),
        Column("Up-to-date", "integer", lambda d: _count(d, "updatedNumberScheduled"),
               "The total number of nodes that are running updated daemon pod."),
        Column("Available", "integer", lambda d: _count(d, "numberAvailable"),
               "The number of nodes that should be running the daemon pod and have one or more running "
               "and available."),
        Column("Node Selector", "string", lambda d: ",".join(
            f"{k}={v}" for k, v in sorted(((_template_spec(d).get("spec") or {}).get("nodeSelector")
                                          or {}).items())) or "<none>", "The node selector."),
        AGE, CONTAINERS, IMAGES, SELECTOR,
    ),
)

LEASES = Strategy(
    group="coordination.k8s.io", version="v1", kind="Lease", plural="leases",
    definition="io.k8s.api.coordination.v1.Lease",
    columns=(NAME, Column("Holder", "string", lambda lease: str(spec(lease).get("holderIdentity", "")),
                          "The holder of the lease."), AGE),
)


def _slice_ports(endpoint_slice: Object) -> str:
    ports = [str(p.get("port")) for p in endpoint_slice.get("ports") or [] if p.get("port") is not None]
    return ",".join(ports) or "<unset>"


def _slice_endpoints(endpoint_slice: Object) -> str:
    addresses = [a for e in endpoint_slice.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<unset>"
    return ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


def validate_slice(endpoint_slice: Object) -> list[FieldError]:
    kind = endpoint_slice.get("addressType")
    if not kind:
        return [required("addressType")]
    if kind not in ("IPv4", "IPv6", "FQDN"):
        from api.meta.errors import not_supported

        return [not_supported("addressType", kind, ("FQDN", "IPv4", "IPv6"))]
    return []


ENDPOINT_SLICES = Strategy(
    group="discovery.k8s.io", version="v1", kind="EndpointSlice", plural="endpointslices",
    definition="io.k8s.api.discovery.v1.EndpointSlice", validate=validate_slice,
    columns=(
        NAME,
        Column("AddressType", "string", lambda s: str(s.get("addressType", "")), "The IP protocol."),
        Column("Ports", "string", _slice_ports, "The ports of the endpoint slice."),
        Column("Endpoints", "string", _slice_endpoints, "The endpoint addresses."),
        AGE,
    ),
)

def _regarding(event: Object) -> str:
    regarding = event.get("regarding") or {}
    return f"{str(regarding.get('kind', '')).lower()}/{regarding.get('name', '')}"


EVENTS_V1 = Strategy(
    group="events.k8s.io", version="v1", kind="Event", plural="events", short_names=("ev",),
    definition="io.k8s.api.events.v1.Event",
    store_prefix="events.k8s.io/events",  # upstream shares core events' storage, converting; not yet here
    columns=(
        Column("Last Seen", "string", lambda e: since(e.get("deprecatedLastTimestamp") or e.get("eventTime")),
               "Time when last event occurred."),
        Column("Type", "string", lambda e: str(e.get("type", "")), "Type of event."),
        Column("Reason", "string", lambda e: str(e.get("reason", "")), "Reason of event."),
        Column("Object", "string", _regarding, "Object the event is about."),
        Column("Message", "string", lambda e: str(e.get("note", "")), "Message of event."),
    ),
    selectable_fields={k.replace("involvedObject", "regarding"): v for k, v in EVENT_FIELDS.items()
                       if k.startswith("involvedObject")},
)
