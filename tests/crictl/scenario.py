"""A known runtime state for output tests: two pods, three containers, two images."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.crictl.conftest import Crictl

CONFIGS = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class State:
    web: str
    batch: str
    server: str
    sidecar: str
    job: str


def pod_config(tmp: Path, name: str, namespace: str, log_dir: Path) -> Path:
    path = tmp / f"{name}-pod.json"
    config = json.loads((CONFIGS / "pod.json").read_text())
    config["metadata"].update(name=name, namespace=namespace, uid=f"uid-{name}")
    config["log_directory"] = str(log_dir / name)
    config["labels"].update(
        {"app": name, "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace}
    )
    path.write_text(json.dumps(config))
    return path


def container_config(tmp: Path, name: str, pod: str, namespace: str, image: str) -> Path:
    path = tmp / f"{pod}-{name}.json"
    config = {
        "metadata": {"name": name},
        "image": {"image": image},
        "log_path": f"{name}/0.log",
        "labels": {
            "io.kubernetes.pod.name": pod,
            "io.kubernetes.pod.namespace": namespace,
            "io.kubernetes.container.name": name,
        },
    }
    path.write_text(json.dumps(config))
    return path


async def build(crictl: Crictl, tmp: Path) -> State:
    crictl.images.add_image(
        "docker.io/library/busybox:1.36", "docker.io/library/busybox:latest", size=4_270_000
    )
    crictl.images.add_image("registry.k8s.io/pause:3.10", size=321_520, uid=65535)
    logs = tmp / "logs"
    web_pod = pod_config(tmp, "web", "default", logs)
    batch_pod = pod_config(tmp, "batch", "jobs", logs)
    web = (await crictl.ok("runp", str(web_pod))).strip()
    batch = (await crictl.ok("runp", str(batch_pod))).strip()
    ids = []
    for pod_id, pod_path, pod, namespace, name, image in (
        (web, web_pod, "web", "default", "server", "docker.io/library/busybox:1.36"),
        (web, web_pod, "web", "default", "sidecar", "registry.k8s.io/pause:3.10"),
        (batch, batch_pod, "batch", "jobs", "job", "busybox"),
    ):
        config = container_config(tmp, name, pod, namespace, image)
        ids.append((await crictl.ok("create", pod_id, str(config), str(pod_path))).strip())
    await crictl.ok("start", ids[0], ids[2])
    crictl.runtime.exit_container(ids[2], 3)
    return State(web=web, batch=batch, server=ids[0], sidecar=ids[1], job=ids[2])
