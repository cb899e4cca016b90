"""Pod validation: every problem with its field path and reason, as the apiserver's 422 lists them."""

from __future__ import annotations

from api.core.v1.pods import pod_meta, pod_spec, volume_sources
from api.core.v1.validation_names import dns_label, dns_subdomain, port_number, port_number_or_name
from api.meta.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
)
from api.meta.quantity import QuantityError, parse_quantity
from api.model.core_v1 import Container, LifecycleHandler, Pod, PodSpec, Probe, ResourceRequirements, Volume

RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
PROTOCOLS = ("TCP", "UDP", "SCTP")
HOST_PATH_TYPES = (
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
)
MEDIA = ("", "Memory", "HugePages")
SCHEMES = ("HTTP", "HTTPS")
MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")


def validate_pod(pod: Pod) -> list[FieldError]:
    """Validates a defaulted pod."""
    metadata = pod_meta(pod)
    errors = dns_subdomain("metadata.name", metadata.name)
    if metadata.namespace:
        errors += dns_label("metadata.namespace", metadata.namespace)
    return errors + validate_spec(pod_spec(pod), "spec")


def validate_spec(spec: PodSpec, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    volume_names = _volumes(spec.volumes or [], f"{path}.volumes", errors)
    if not spec.containers:
        errors.append(required(f"{path}.containers"))
    seen: set[str] = set()
    for kind, containers in (("initContainers", spec.init_containers or []), ("containers", spec.containers)):
        for i, container in enumerate(containers):
            at = f"{path}.{kind}[{i}]"
            if container.name and container.name in seen:
                errors.append(duplicate(f"{at}.name", container.name))
            seen.add(container.name)
            errors += _container(container, at, volume_names, init=kind == "initContainers")
    errors += _choice(f"{path}.restartPolicy", spec.restart_policy, RESTART_POLICIES)
    errors += _choice(f"{path}.dnsPolicy", spec.dns_policy, DNS_POLICIES)
    if spec.dns_policy == "None" and spec.dns_config is None:
        errors.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    if spec.termination_grace_period_seconds is not None and spec.termination_grace_period_seconds < 0:
        errors.append(
            invalid(
                f"{path}.terminationGracePeriodSeconds",
                spec.termination_grace_period_seconds,
                "must be greater than or equal to 0",
            )
        )
    if spec.active_deadline_seconds is not None and spec.active_deadline_seconds < 1:
        errors.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                spec.active_deadline_seconds,
                "must be between 1 and 2147483647, inclusive",
            )
        )
    if spec.hostname:
        errors += dns_label(f"{path}.hostname", spec.hostname)
    return errors


def _choice(path: str, value: str | None, allowed: tuple[str, ...]) -> list[FieldError]:
    if value is None:
        return [required(path)]
    return [] if value in allowed else [not_supported(path, value, allowed)]


def _volumes(volumes: list[Volume], path: str, errors: list[FieldError]) -> set[str]:
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        at = f"{path}[{i}]"
        errors.extend(dns_label(f"{at}.name", volume.name))
        if volume.name in names:
            errors.append(duplicate(f"{at}.name", volume.name))
        names.add(volume.name)
        sources = volume_sources(volume)
        if len(sources) > 1:
            errors.append(forbidden(at, "may not specify more than 1 volume type"))
        if volume.host_path is not None:
            if not volume.host_path.path:
                errors.append(required(f"{at}.hostPath.path"))
            errors.extend(_optional_choice(f"{at}.hostPath.type", volume.host_path.type, HOST_PATH_TYPES))
        if volume.empty_dir is not None:
            errors.extend(_optional_choice(f"{at}.emptyDir.medium", volume.empty_dir.medium, MEDIA))
            errors.extend(_quantity(f"{at}.emptyDir.sizeLimit", volume.empty_dir.size_limit))
        if volume.downward_api is not None:
            for j, item in enumerate(volume.downward_api.items or []):
                item_at = f"{at}.downwardAPI.items[{j}]"
                if not item.path:
                    errors.append(required(f"{item_at}.path"))
                elif item.path.startswith("/") or ".." in item.path.split("/"):
                    errors.append(
                        invalid(f"{item_at}.path", item.path, "must be a relative path without '..'")
                    )
                if (item.field_ref is None) == (item.resource_field_ref is None):
                    errors.append(required(item_at, "must specify one of: `fieldRef` or `resourceFieldRef`"))
    return names


def _optional_choice(path: str, value: str | None, allowed: tuple[str, ...]) -> list[FieldError]:
    return [] if value is None or value in allowed else [not_supported(path, value, allowed)]


def _quantity(path: str, value: str | None) -> list[FieldError]:
    if value is None:
        return []
    try:
        parse_quantity(value)
    except QuantityError as exc:
        return [invalid(path, value, str(exc))]
    return []


def _container(container: Container, path: str, volumes: set[str], *, init: bool) -> list[FieldError]:
    errors = dns_label(f"{path}.name", container.name)
    if not container.image:
        errors.append(required(f"{path}.image"))
    errors += _choice(f"{path}.imagePullPolicy", container.image_pull_policy, PULL_POLICIES)
    errors += _optional_choice(
        f"{path}.terminationMessagePolicy", container.termination_message_policy, MESSAGE_POLICIES
    )
    for i, port in enumerate(container.ports or []):
        at = f"{path}.ports[{i}]"
        errors += port_number(f"{at}.containerPort", port.container_port)
        errors += port_number(f"{at}.hostPort", port.host_port or 0, allow_zero=True)
        errors += _choice(f"{at}.protocol", port.protocol, PROTOCOLS)
    for i, env in enumerate(container.env or []):
        if not env.name:
            errors.append(required(f"{path}.env[{i}].name"))
        if env.value is not None and env.value_from is not None:
            errors.append(
                invalid(f"{path}.env[{i}].valueFrom", "", "may not be specified when `value` is not empty")
            )
    for i, mount in enumerate(container.volume_mounts or []):
        at = f"{path}.volumeMounts[{i}]"
        if not mount.name:
            errors.append(required(f"{at}.name"))
        elif mount.name not in volumes:
            errors.append(not_found(f"{at}.name", mount.name))
        if not mount.mount_path:
            errors.append(required(f"{at}.mountPath"))
    errors += _resources(container.resources, f"{path}.resources")
    errors += _probes_and_hooks(container, path, init=init)
    return errors


def _resources(resources: ResourceRequirements | None, path: str) -> list[FieldError]:
    if resources is None:
        return []
    errors: list[FieldError] = []
    limits, requests = resources.limits or {}, resources.requests or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            errors += _quantity(f"{path}.{kind}[{name}]", value)
    if errors:
        return errors
    for name, request in requests.items():
        limit = limits.get(name)
        if limit is not None and parse_quantity(request) > parse_quantity(limit):
            errors.append(
                invalid(f"{path}.requests", request, f"must be less than or equal to {name} limit of {limit}")
            )
    return errors


def _probes_and_hooks(container: Container, path: str, *, init: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    sidecar = init and container.restart_policy == "Always"
    if container.restart_policy is not None:
        if not init:
            errors.append(forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
        elif container.restart_policy != "Always":
            errors.append(not_supported(f"{path}.restartPolicy", container.restart_policy, ("Always",)))
    probes = {
        "livenessProbe": container.liveness_probe,
        "readinessProbe": container.readiness_probe,
        "startupProbe": container.startup_probe,
    }
    for name, probe in probes.items():
        if probe is None:
            continue
        if init and not sidecar:
            errors.append(
                forbidden(f"{path}.{name}", "may not be set for init containers without restartPolicy=Always")
            )
            continue
        errors += _probe(probe, f"{path}.{name}", single_success=name != "readinessProbe")
    if container.lifecycle is not None:
        if init and not sidecar:
            errors.append(
                forbidden(
                    f"{path}.lifecycle", "may not be set for init containers without restartPolicy=Always"
                )
            )
        for hook_name, hook in (
            ("postStart", container.lifecycle.post_start),
            ("preStop", container.lifecycle.pre_stop),
        ):
            if hook is not None:
                errors += _handler(hook, f"{path}.lifecycle.{hook_name}")
    return errors


def _probe(probe: Probe, path: str, *, single_success: bool) -> list[FieldError]:
    handlers = [h for h in (probe.exec, probe.http_get, probe.tcp_socket, probe.grpc) if h is not None]
    errors = _handler_count(len(handlers), path)
    for field_name in (
        "initial_delay_seconds",
        "timeout_seconds",
        "period_seconds",
        "success_threshold",
        "failure_threshold",
    ):
        value = getattr(probe, field_name)
        if value is not None and value < 0:
            camel = field_name.split("_")[0] + "".join(p.title() for p in field_name.split("_")[1:])
            errors.append(invalid(f"{path}.{camel}", value, "must be greater than or equal to 0"))
    if single_success and probe.success_threshold not in (None, 1):
        errors.append(invalid(f"{path}.successThreshold", probe.success_threshold, "must be 1"))
    if probe.http_get is not None:
        errors += port_number_or_name(f"{path}.httpGet.port", probe.http_get.port)
        errors += _optional_choice(f"{path}.httpGet.scheme", probe.http_get.scheme, SCHEMES)
    if probe.tcp_socket is not None:
        errors += port_number_or_name(f"{path}.tcpSocket.port", probe.tcp_socket.port)
    if probe.grpc is not None:
        errors += port_number(f"{path}.grpc.port", probe.grpc.port)
    return errors


def _handler(handler: LifecycleHandler, path: str) -> list[FieldError]:
    handlers = [
        h for h in (handler.exec, handler.http_get, handler.tcp_socket, handler.sleep) if h is not None
    ]
    errors = _handler_count(len(handlers), path)
    if handler.http_get is not None:
        errors += port_number_or_name(f"{path}.httpGet.port", handler.http_get.port)
    if handler.sleep is not None and handler.sleep.seconds < 0:
        errors.append(
            invalid(f"{path}.sleep.seconds", handler.sleep.seconds, "must be greater than or equal to 0")
        )
    if handler.exec is not None and not handler.exec.command:
        errors.append(required(f"{path}.exec.command"))
    return errors


def _handler_count(count: int, path: str) -> list[FieldError]:
    if count == 0:
        return [required(path, "must specify a handler type")]
    if count > 1:
        return [forbidden(path, "may not specify more than 1 handler type")]
    return []
