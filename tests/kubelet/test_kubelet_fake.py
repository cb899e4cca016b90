"""The kubelet end to end over CRI against the fake runtime: static pods to statuses and back."""

from __future__ import annotations

import json

from aiohttp import web

from api.core.v1.pods import annotations_of, pod_spec, pod_uid
from cri import domain as d
from cri.errors import NotFound
from kubelet import labels as lbl

from .conftest import NODE, Node

WEB = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["httpd", "-f"]
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: GREETING, value: "hello $(POD_NAME)"}
    ports: [{containerPort: 80, hostPort: 8080}]
"""


async def test_static_pod_runs_with_the_kubelets_names_and_labels(node: Node) -> None:
    node.write("web.yaml", WEB)
    status = await node.wait_phase("web", "Running")
    pod = node.kubelet.find_pod("default", f"web-{NODE}")
    assert pod is not None
    assert annotations_of(pod)[lbl.CONFIG_HASH] == pod_uid(pod)
    assert annotations_of(pod)[lbl.CONFIG_SOURCE] == "file"
    assert pod_spec(pod).node_name == NODE
    assert {c.type: c.status for c in status.conditions}["Ready"] == "True"
    [sandbox] = node.runtime.sandboxes.values()
    config = sandbox.config
    assert config.labels[lbl.POD_UID] == pod_uid(pod) and config.labels["app"] == "web"
    assert config.log_directory.endswith(f"/default_web-{NODE}_{pod_uid(pod)}")
    assert [(p.container_port, p.host_port) for p in config.port_mappings] == [(80, 8080)]
    [container] = node.runtime.containers.values()
    envs = {kv.key: kv.value for kv in container.config.envs}
    assert envs == {"POD_NAME": f"web-{NODE}".encode(), "GREETING": f"hello web-{NODE}".encode()}
    assert container.config.log_path == "app/0.log"
    assert status.container_statuses[0].container_id == f"fake://{container.id}" or status.container_statuses[
        0
    ].container_id.endswith(container.id)  # type: ignore[union-attr]


async def test_removed_manifest_terminates_and_edited_one_replaces(node: Node) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    first = node.kubelet.find_pod("default", f"web-{NODE}")
    assert first is not None
    first_uid = pod_uid(first)
    node.write("web.yaml", WEB.replace("httpd", "httpd2"))
    await node.wait_for(
        "the edited pod",
        lambda: (
            (p := node.kubelet.find_pod("default", f"web-{NODE}")) is not None and pod_uid(p) != first_uid
        ),
    )
    await node.wait_phase("web", "Running")
    await node.wait_for("only the new sandbox left", lambda: len(node.runtime.sandboxes) == 1)
    [container] = node.runtime.containers.values()
    assert container.config.command == ("httpd2", "-f")
    (node.manifests / "web.yaml").unlink()
    await node.wait_for("the pod gone from the runtime", lambda: not node.runtime.sandboxes)
    assert json.loads(node.kubelet.pod_list_body())["items"] == []


async def test_crashing_container_backs_off(node: Node) -> None:
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    [first] = node.runtime.containers
    second = await node.crash_and_restart(first)
    assert node.runtime.containers[second].config.metadata.attempt == 1  # type: ignore[union-attr]
    node.runtime.exit_container(second, 1)

    def crash_looping() -> bool:
        status = node.status("web")
        waiting = (
            status.container_statuses[0].state.waiting
            if status and status.container_statuses[0].state
            else None
        )
        return waiting is not None and waiting.reason == "CrashLoopBackOff"

    await node.wait_for("CrashLoopBackOff", crash_looping)
    status = node.status("web")
    assert status is not None
    container = status.container_statuses[0]
    assert container.restart_count == 1
    assert container.last_state.terminated.exit_code == 1  # type: ignore[union-attr]
    assert "back-off 10s restarting failed container=app" in (container.state.waiting.message or "")  # type: ignore[union-attr]


async def test_job_like_pod_completes(node: Node) -> None:
    node.write(
        "job.yaml",
        WEB.replace("name: web", "name: job").replace("spec:\n", "spec:\n  restartPolicy: Never\n"),
    )
    await node.wait_phase("job", "Running")
    [container_id] = node.runtime.containers
    node.runtime.exit_container(container_id, 0)
    status = await node.wait_phase("job", "Succeeded")
    assert status.container_statuses[0].state.terminated.reason == "Completed"  # type: ignore[union-attr]
    await node.wait_for(
        "the sandbox stopped", lambda: not any(s.ready for s in node.runtime.sandboxes.values())
    )
    assert len(node.runtime.containers) == 1


async def test_image_pull_failure_backs_off(node: Node) -> None:
    node.runtime.faults.fail_always("pull_image", NotFound("registry.example/missing:1.0: not found"))
    node.write("web.yaml", WEB.replace("busybox:1.36", "registry.example/missing:1.0"))

    def reason() -> str | None:
        status = node.status("web")
        state = status.container_statuses[0].state if status else None
        return state.waiting.reason if state and state.waiting else None

    await node.wait_for("ErrImagePull", lambda: reason() in ("ErrImagePull", "ImagePullBackOff"))
    await node.wait_for("ImagePullBackOff", lambda: reason() == "ImagePullBackOff")
    assert node.status("web").phase == "Pending"  # type: ignore[union-attr]
    assert node.runtime.faults.count()["pull_image"] == 1


async def test_invalid_manifest_is_reported_and_does_not_affect_others(node: Node) -> None:
    node.write("bad.yaml", WEB.replace("name: web", "name: Bad_Name"))
    node.write("web.yaml", WEB)
    await node.wait_phase("web", "Running")
    errors = node.kubelet.source.errors
    [(path, message)] = errors.items()
    assert path.endswith("bad.yaml")
    assert "metadata.name: Invalid value" in message


async def test_restarted_kubelet_adopts_running_pods(node: Node) -> None:
    node.write("web.yaml", WEB)
    before = await node.wait_phase("web", "Running")
    created = node.runtime.faults.count()["create_container"]
    kubelet = await node.restart_kubelet()
    await node.wait_for(
        "the restarted kubelet synced", lambda: node.status("web") is not None and kubelet.synced.is_set()
    )
    await kubelet.pleg.relist()
    await node.wait_for("a sync round", lambda: node.status("web") == before)
    assert node.runtime.faults.count()["create_container"] == created
    assert all(c.state == d.ContainerState.CONTAINER_RUNNING for c in node.runtime.containers.values())


HOOKED = """
apiVersion: v1
kind: Pod
metadata: {name: hooked}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: busybox:1.36
    lifecycle:
      postStart:
        httpGet: {host: 127.0.0.1, port: PORT, path: /started, httpHeaders: [{name: X-Hook, value: post}]}
      preStop: {exec: {command: ["sh", "-c", "echo bye"]}}
"""


async def test_hooks_run_after_start_and_before_stop(node: Node) -> None:
    requests: list[tuple[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        requests.append((request.path, request.headers.get("X-Hook", "")))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/started", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    executed: list[tuple[str, ...]] = []

    def exec_handler(container_id: str, cmd: tuple[str, ...]) -> d.ExecSyncResult:
        executed.append(cmd)
        return d.ExecSyncResult(exit_code=0)

    node.runtime.exec_handler = exec_handler
    try:
        node.write("hooked.yaml", HOOKED.replace("PORT", str(port)))
        await node.wait_phase("hooked", "Running")
        await node.wait_for("the postStart request", lambda: requests == [("/started", "post")])
        (node.manifests / "hooked.yaml").unlink()
        await node.wait_for("the pod gone", lambda: not node.runtime.sandboxes)
        assert executed == [("sh", "-c", "echo bye")]
        [stop] = [call.args for call in node.runtime.faults.calls if call.method == "stop_container"]
        assert stop[1] in range(2, 6)  # what the preStop hook left of the 5 s grace period
    finally:
        await runner.cleanup()
