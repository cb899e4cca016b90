"""Pods and runtime views for kubelet unit tests."""

from __future__ import annotations

import json
from typing import Any

from api.core.v1.manifest import load_pod
from api.core.v1.pods import all_containers, pod_uid
from api.model.core_v1 import Pod
from cri import domain as d
from kubelet.labels import container_hash
from kubelet.runtime_view import RuntimeContainer, RuntimePod, RuntimeSandbox


def make_pod(name: str = "web", *, uid: str = "uid-1", **spec: Any) -> Pod:
    spec.setdefault("containers", [{"name": "app", "image": "busybox:1.36"}])
    document = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "uid": uid}, "spec": spec}
    return load_pod(json.dumps(document)).pod


def sandbox(sandbox_id: str = "sb1", *, ready: bool = True, attempt: int = 0) -> RuntimeSandbox:
    return RuntimeSandbox(id=sandbox_id, attempt=attempt, ready=ready, created_at=1, ip="10.1.0.5")


def running(pod: Pod, name: str, cid: str, *, sandbox_id: str = "sb1", restarts: int = 0) -> RuntimeContainer:
    spec = next(c for c in all_containers(pod) if c.name == name)
    return RuntimeContainer(
        id=cid,
        name=name,
        sandbox_id=sandbox_id,
        state=d.ContainerState.CONTAINER_RUNNING,
        created_at=10 + restarts,
        started_at=2_000_000_000,
        spec_hash=container_hash(spec),
        restart_count=restarts,
    )


def exited(
    pod: Pod,
    name: str,
    cid: str,
    *,
    code: int,
    finished_s: float = 100.0,
    sandbox_id: str = "sb1",
    restarts: int = 0,
) -> RuntimeContainer:
    spec = next(c for c in all_containers(pod) if c.name == name)
    return RuntimeContainer(
        id=cid,
        name=name,
        sandbox_id=sandbox_id,
        state=d.ContainerState.CONTAINER_EXITED,
        exit_code=code,
        created_at=10 + restarts,
        started_at=1_000_000_000,
        finished_at=int(finished_s * 1e9),
        spec_hash=container_hash(spec),
        restart_count=restarts,
    )


def runtime_pod(
    pod: Pod, *containers: RuntimeContainer, sandboxes: tuple[RuntimeSandbox, ...] | None = None
) -> RuntimePod:
    ordered = tuple(sorted(containers, key=lambda c: c.created_at, reverse=True))
    return RuntimePod(
        uid=pod_uid(pod), sandboxes=sandboxes if sandboxes is not None else (sandbox(),), containers=ordered
    )
