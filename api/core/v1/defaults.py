"""Pod defaulting as the apiserver (and the kubelet for static pods) applies it."""

from __future__ import annotations

from api.core.v1.pods import volume_sources
from api.model.core_v1 import (
    Container,
    ContainerPort,
    EmptyDirVolumeSource,
    HTTPGetAction,
    Lifecycle,
    LifecycleHandler,
    Pod,
    PodSecurityContext,
    PodSpec,
    Probe,
    Volume,
)
from api.model.meta_v1 import ObjectMeta

DEFAULT_GRACE_PERIOD_S = 30
DEFAULT_NAMESPACE = "default"


def image_pull_policy_for(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images (no digest), else ``IfNotPresent``."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _http_get(action: HTTPGetAction | None) -> HTTPGetAction | None:
    if action is None:
        return None
    return action.replace(path=action.path or "/", scheme=action.scheme or "HTTP")


def _probe(probe: Probe | None) -> Probe | None:
    if probe is None:
        return None
    return probe.replace(
        http_get=_http_get(probe.http_get),
        timeout_seconds=probe.timeout_seconds or 1,
        period_seconds=probe.period_seconds or 10,
        success_threshold=probe.success_threshold or 1,
        failure_threshold=probe.failure_threshold or 3,
    )


def _handler(handler: LifecycleHandler | None) -> LifecycleHandler | None:
    return None if handler is None else handler.replace(http_get=_http_get(handler.http_get))


def _lifecycle(lifecycle: Lifecycle | None) -> Lifecycle | None:
    if lifecycle is None:
        return None
    return lifecycle.replace(post_start=_handler(lifecycle.post_start), pre_stop=_handler(lifecycle.pre_stop))


def _port(port: ContainerPort) -> ContainerPort:
    return port.replace(protocol=port.protocol or "TCP")


def default_container(container: Container) -> Container:
    return container.replace(
        ports=None if container.ports is None else [_port(p) for p in container.ports],
        image_pull_policy=container.image_pull_policy or image_pull_policy_for(container.image or ""),
        termination_message_path=container.termination_message_path or "/dev/termination-log",
        termination_message_policy=container.termination_message_policy or "File",
        liveness_probe=_probe(container.liveness_probe),
        readiness_probe=_probe(container.readiness_probe),
        startup_probe=_probe(container.startup_probe),
        lifecycle=_lifecycle(container.lifecycle),
    )


def _volume(volume: Volume) -> Volume:
    if not volume_sources(volume):
        return volume.replace(empty_dir=EmptyDirVolumeSource())
    return volume


def default_spec(spec: PodSpec) -> PodSpec:
    return spec.replace(
        volumes=None if spec.volumes is None else [_volume(v) for v in spec.volumes],
        init_containers=(
            None if spec.init_containers is None else [default_container(c) for c in spec.init_containers]
        ),
        containers=[default_container(c) for c in spec.containers],
        restart_policy=spec.restart_policy or "Always",
        termination_grace_period_seconds=(
            DEFAULT_GRACE_PERIOD_S
            if spec.termination_grace_period_seconds is None
            else spec.termination_grace_period_seconds
        ),
        dns_policy=spec.dns_policy or "ClusterFirst",
        security_context=spec.security_context or PodSecurityContext(),
        scheduler_name=spec.scheduler_name or "default-scheduler",
        enable_service_links=True if spec.enable_service_links is None else spec.enable_service_links,
        priority=spec.priority if spec.priority is not None else 0,
    )


def default_pod(pod: Pod) -> Pod:
    """A pod without metadata gets an empty one; one without spec an empty spec (no containers)."""
    metadata = pod.metadata or ObjectMeta()
    metadata = metadata.replace(namespace=metadata.namespace or DEFAULT_NAMESPACE)
    spec = default_spec(pod.spec or PodSpec(containers=[]))
    return pod.replace(api_version="v1", kind="Pod", metadata=metadata, spec=spec)
