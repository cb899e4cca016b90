"""The ContainerConfig the kubelet builds for one container (generateContainerConfig)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from api.model.core_v1 import Container, Pod
from cri import domain as d
from kubelet import labels as lbl
from kubelet.env import PodFacts, container_env, expand
from kubelet.resources import linux_resources
from kubelet.security import container_security_context
from kubelet.volumes import container_mounts

_SIGNALS = {s.name: s for s in d.Signal}


def container_log_path(container: Container, restart_count: int) -> str:
    """Relative to the sandbox's log directory: ``<container>/<restartCount>.log``."""
    return f"{container.name}/{restart_count}.log"


def container_config(
    pod: Pod,
    container: Container,
    *,
    restart_count: int,
    facts: PodFacts,
    volume_paths: Mapping[str, Path],
    extra_mounts: tuple[d.Mount, ...],
    qos: str,
    node_memory: int,
) -> d.ContainerConfig:
    env = container_env(pod, container, facts)
    return d.ContainerConfig(
        metadata=d.ContainerMetadata(name=container.name, attempt=restart_count),
        image=d.ImageSpec(image=container.image or ""),
        command=tuple(expand(part, env) for part in container.command or ()),
        args=tuple(expand(part, env) for part in container.args or ()),
        working_dir=container.working_dir or "",
        envs=tuple(d.KeyValue(key=k, value=v.encode()) for k, v in env.items()),
        mounts=container_mounts(container, volume_paths) + extra_mounts,
        labels=lbl.container_labels(pod, container),
        annotations=lbl.container_annotations(pod, container, restart_count=restart_count),
        log_path=container_log_path(container, restart_count),
        stdin=bool(container.stdin),
        stdin_once=bool(container.stdin_once),
        tty=bool(container.tty),
        linux=d.LinuxContainerConfig(
            resources=linux_resources(container, qos=qos, node_memory=node_memory),
            security_context=container_security_context(pod, container),
        ),
    )
