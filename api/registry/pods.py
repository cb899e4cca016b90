"""core/v1 Pod: defaulting, validation through the typed model, columns and selectable fields."""

from __future__ import annotations

from typing import Any

from api.core.v1.defaults import image_pull_policy_for
from api.core.v1.validation_names import dns_label
from api.meta.errors import FieldError, duplicate, invalid, not_supported, required
from api.registry.printing import AGE, NAME, none_if_empty, spec, status
from api.registry.strategy import Column, Object, Strategy


def _default_container(container: dict[str, Any]) -> None:
    container.setdefault("imagePullPolicy", image_pull_policy_for(str(container.get("image", ""))))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def default_pod(pod: Object) -> None:
    pod_spec = pod.setdefault("spec", {})
    if not isinstance(pod_spec, dict):
        return
    for key, value in (
        ("restartPolicy", "Always"),
        ("terminationGracePeriodSeconds", 30),
        ("dnsPolicy", "ClusterFirst"),
        ("securityContext", {}),
        ("schedulerName", "default-scheduler"),
        ("enableServiceLinks", True),
        ("preemptionPolicy", "PreemptLowerPriority"),
        ("priority", 0),
        ("serviceAccountName", "default"),
    ):
        pod_spec.setdefault(key, value)
    pod_spec.setdefault("serviceAccount", pod_spec["serviceAccountName"])
    pod_spec.setdefault("tolerations", [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
    ])
    for container in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
        if isinstance(container, dict):
            _default_container(container)
    pod_status = pod.setdefault("status", {})
    if isinstance(pod_status, dict):
        pod_status.setdefault("phase", "Pending")
        pod_status.setdefault("qosClass", _qos_class(pod_spec))


def _qos_class(pod_spec: dict[str, Any]) -> str:
    containers = [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(name) is not None
        and (r.get("requests") or {}).get(name, (r.get("limits") or {}).get(name))
        == (r.get("limits") or {}).get(name)
        for r in resources
        for name in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")


def _container_errors(container: Any, path: str, names: set[Any]) -> list[FieldError]:
    if not isinstance(container, dict):
        return [invalid(path, container, "must be an object")]
    errors = dns_label(f"{path}.name", container.get("name"))
    if container.get("name") in names:
        errors.append(duplicate(f"{path}.name", container["name"]))
    names.add(container.get("name"))
    if not container.get("image"):
        errors.append(required(f"{path}.image"))
    policy = container.get("imagePullPolicy")
    if policy not in PULL_POLICIES:
        errors.append(not_supported(f"{path}.imagePullPolicy", policy, PULL_POLICIES))
    for index, port in enumerate(container.get("ports") or []):
        number = port.get("containerPort") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(invalid(f"{path}.ports[{index}].containerPort", number,
                                  "must be between 1 and 65535, inclusive"))
        if isinstance(port, dict) and port.get("protocol") not in PROTOCOLS:
            errors.append(not_supported(f"{path}.ports[{index}].protocol", port.get("protocol"), PROTOCOLS))
    return errors


def validate_pod_spec(pod_spec: Any, path: str) -> list[FieldError]:
    """What users commonly get wrong, worded as kube-apiserver's pod validation words it."""
    if not isinstance(pod_spec, dict):
        return [required(path)]
    errors: list[FieldError] = []
    containers = pod_spec.get("containers")
    if not containers:
        errors.append(required(f"{path}.containers"))
    names: set[Any] = set()
    for kind in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(kind) or []):
            errors += _container_errors(container, f"{path}.{kind}[{index}]", names)
    policy = pod_spec.get("restartPolicy")
    if policy not in RESTART_POLICIES:
        errors.append(not_supported(f"{path}.restartPolicy", policy, RESTART_POLICIES))
    grace = pod_spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errors.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal "
                              "to 0"))
    return errors


def validate_pod(pod: Object) -> list[FieldError]:
    return validate_pod_spec(pod.get("spec"), "spec")


def _ready(pod: Object) -> str:
    containers = spec(pod).get("containers") or []
    statuses = status(pod).get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(containers)}"


def _restarts(pod: Object) -> str:
    return str(sum(int(s.get("restartCount", 0)) for s in status(pod).get("containerStatuses") or []))


def pod_status_text(pod: Object) -> str:
    """The STATUS column: upstream printPod's reason logic, init containers and readiness included."""
    pod_status = status(pod)
    reason = pod_status.get("reason") or pod_status.get("phase") or ""
    initializing = False
    for index, init in enumerate(pod_status.get("initContainerStatuses") or []):
        state = init.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if terminated:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(spec(pod).get('initContainers') or [])}"
        break
    if not initializing:
        running = False
        for container in reversed(pod_status.get("containerStatuses") or []):
            state = container.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif (state.get("terminated") or {}).get("reason"):
                reason = state["terminated"]["reason"]
            elif state.get("terminated"):
                terminated = state["terminated"]
                reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"ExitCode:{terminated.get('exitCode')}")
            elif container.get("ready") and state.get("running"):
                running = True
        if reason == "Completed" and running:
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if pod_status.get("reason") == "NodeLost" else "Terminating"
    return str(reason)


def _readiness_gates(pod: Object) -> str:
    gates = spec(pod).get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in status(pod).get("conditions") or []}
    ready = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{ready}/{len(gates)}"


POD_COLUMNS = (
    NAME,
    Column("Ready", "string", _ready, "The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", "string", pod_status_text, "The aggregate status of the containers in this pod."),
    Column("Restarts", "string", _restarts, "The number of times the containers in this pod have been "
           "restarted and when the last container in this pod has restarted."),
    AGE,
    Column("IP", "string", lambda p: none_if_empty(status(p).get("podIP", "")),
           "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
           "allocated.", priority=1),
    Column("Node", "string", lambda p: none_if_empty(spec(p).get("nodeName", "")),
           "Name of the Node this pod runs on.", priority=1),
    Column("Nominated Node", "string", lambda p: none_if_empty(status(p).get("nominatedNodeName", "")),
           "Name of the node where the pod is nominated to run.", priority=1),
    Column("Readiness Gates", "string", _readiness_gates,
           "If specified, all readiness gates will be evaluated for pod readiness.", priority=1),
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


POD_FIELDS = {
    "spec.nodeName": lambda p: _text(spec(p).get("nodeName")),
    "spec.restartPolicy": lambda p: _text(spec(p).get("restartPolicy")),
    "spec.schedulerName": lambda p: _text(spec(p).get("schedulerName")),
    "spec.serviceAccountName": lambda p: _text(spec(p).get("serviceAccountName")),
    "spec.hostNetwork": lambda p: _text(bool(spec(p).get("hostNetwork", False))),
    "status.phase": lambda p: _text(status(p).get("phase")),
    "status.podIP": lambda p: _text(status(p).get("podIP")),
    "status.nominatedNodeName": lambda p: _text(status(p).get("nominatedNodeName")),
}

PODS = Strategy(
    group="",
    version="v1",
    kind="Pod",
    plural="pods",
    short_names=("po",),
    categories=("all",),
    subresources=("status", "binding", "eviction"),
    definition="io.k8s.api.core.v1.Pod",
    default=default_pod,
    validate=validate_pod,
    columns=POD_COLUMNS,
    selectable_fields=POD_FIELDS,
)
