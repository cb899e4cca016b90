"""Pod and container configs as the kubelet writes them, labelled so the suite can find its own."""

from __future__ import annotations

import dataclasses
import itertools
import os
import uuid
from collections.abc import Mapping

from conformance import images
from cri import domain as d

SUITE_LABEL = "tinykube.conformance"
RUN_LABEL = "tinykube.conformance.run"
NAMESPACE = "conformance"
LOG_ROOT = "/tmp/tinykube-conformance/logs"
CGROUP_ROOT = "/tinykube-conformance"
_counter = itertools.count()
# what the kubelet sends for a pod without shareProcessNamespace/hostNetwork/hostPID/hostIPC
KUBELET_NAMESPACES = d.NamespaceOption(pid=d.NamespaceMode.CONTAINER)


def suite_labels(run_id: str) -> dict[str, str]:
    return {SUITE_LABEL: "1", RUN_LABEL: run_id}


def sandbox_config(
    *,
    run_id: str,
    name: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    hostname: str = "",
    dns: d.DNSConfig | None = None,
    ports: tuple[d.PortMapping, ...] = (),
    linux: d.LinuxPodSandboxConfig | None = None,
    attempt: int = 0,
    uid: str = "",
    log_root: str = LOG_ROOT,
) -> d.PodSandboxConfig:
    name = name or f"pod-{os.getpid()}-{next(_counter)}"
    uid = uid or str(uuid.uuid4())
    return d.PodSandboxConfig(
        metadata=d.PodSandboxMetadata(name=name, namespace=NAMESPACE, uid=uid, attempt=attempt),
        hostname=hostname,
        log_directory=f"{log_root}/{NAMESPACE}_{name}_{uid}",
        dns_config=dns,
        port_mappings=ports,
        labels={
            "io.kubernetes.pod.name": name,
            "io.kubernetes.pod.namespace": NAMESPACE,
            "io.kubernetes.pod.uid": uid,
            **suite_labels(run_id),
            **(labels or {}),
        },
        annotations=dict(annotations or {}),
        linux=_with_cgroup_parent(linux or _default_linux(), uid),
    )


def _default_linux() -> d.LinuxPodSandboxConfig:
    return d.LinuxPodSandboxConfig(
        security_context=d.LinuxSandboxSecurityContext(namespace_options=KUBELET_NAMESPACES)
    )


def _with_cgroup_parent(linux: d.LinuxPodSandboxConfig, uid: str) -> d.LinuxPodSandboxConfig:
    """The kubelet always gives a pod its own cgroup (cgroupfs: /kubepods/.../pod<uid>)."""
    if linux.cgroup_parent:
        return linux
    return dataclasses.replace(linux, cgroup_parent=f"{CGROUP_ROOT}/pod{uid}")


def container_config(
    *,
    run_id: str,
    name: str = "main",
    image: str = images.BUSYBOX,
    command: tuple[str, ...] = ("sleep", "3600"),
    args: tuple[str, ...] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    envs: Mapping[str, str] | None = None,
    mounts: tuple[d.Mount, ...] = (),
    devices: tuple[d.Device, ...] = (),
    working_dir: str = "",
    tty: bool = False,
    stdin: bool = False,
    linux: d.LinuxContainerConfig | None = None,
    attempt: int = 0,
    log_path: str = "",
) -> d.ContainerConfig:
    return d.ContainerConfig(
        metadata=d.ContainerMetadata(name=name, attempt=attempt),
        image=d.ImageSpec(image=image),
        command=command,
        args=args,
        working_dir=working_dir,
        envs=tuple(d.KeyValue(key=k, value=v.encode()) for k, v in (envs or {}).items()),
        mounts=mounts,
        devices=devices,
        labels={"io.kubernetes.container.name": name, **suite_labels(run_id), **(labels or {})},
        annotations=dict(annotations or {}),
        log_path=log_path or f"{name}/{attempt}.log",
        tty=tty,
        stdin=stdin,
        linux=linux or security(),
    )


def security(**fields: object) -> d.LinuxContainerConfig:
    """A container's Linux config with only a security context (fields of LinuxContainerSecurityContext)."""
    fields.setdefault("namespace_options", KUBELET_NAMESPACES)
    return d.LinuxContainerConfig(security_context=d.LinuxContainerSecurityContext(**fields))  # type: ignore[arg-type]
