"""The real kubectl against the apiserver, with `tinykube kubelet --kubeconfig` on the fake shim as the
cluster's node and `tinykube scheduler`: the node is Ready, a pod bound to it (by nodeName or by the
scheduler) runs, `kubectl delete` removes it."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from tests.apiserver.kubectl import Kubectl
from tinykube.testbeds.apiserver import running_apiserver
from tinykube.testbeds.kubelet_process import KubeletProcess, eventually, free_port, write_config

pytestmark = [pytest.mark.integration, pytest.mark.needs_host("kubectl")]
NODE = "node1"
ON_NODE = json.dumps({"apiVersion": "v1", "spec": {"nodeName": NODE}})


async def _daemon(stack: AsyncExitStack, log: Path, *args: str) -> None:
    """`tinykube ARGS...` for the block, stopped with SIGTERM at its end."""
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tinykube.main", *args, stdout=output, stderr=output
        )

    async def stop() -> None:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)

    stack.push_async_callback(stop)


def _exists(path: Path) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await asyncio.to_thread(path.exists)

    return check


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(running_apiserver(tmp_path, storage="sqlite:"))
        socket = tmp_path / "run" / "fake.sock"
        socket.parent.mkdir()
        await _daemon(stack, tmp_path / "shim.log", "shim", "--backend", "fake", "--socket", str(socket))
        await eventually(_exists(socket), "the shim's socket", 30)
        await _daemon(
            stack, tmp_path / "scheduler.log", "scheduler", "--kubeconfig", str(server.kubeconfig),
            "--leader-elect=false", "--secure-port", str(free_port()),
        )  # fmt: skip
        kubelet = KubeletProcess(
            write_config(tmp_path / "kubelet", endpoint=f"unix://{socket}", node_name=NODE),
            tmp_path / "kubelet.log",
            args=("--kubeconfig", str(server.kubeconfig)),
        )
        stack.push_async_callback(kubelet.kill, signal.SIGTERM)
        await kubelet.start()
        home = tmp_path / "home"
        home.mkdir()
        yield Kubectl(server.kubeconfig, home)


async def node_ready(kubectl: Kubectl) -> None:
    """Waits for the node to register (a wait for a condition of a missing object fails at once), then
    for it to be Ready."""
    await kubectl.ok("wait", "--for=create", f"node/{NODE}", "--timeout=60s")
    await kubectl.ok("wait", "--for=condition=Ready", f"node/{NODE}", "--timeout=60s")


def _rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.strip().splitlines()]


async def test_the_node_is_ready_runs_a_bound_pod_and_deletes_it(kubectl: Kubectl) -> None:
    await node_ready(kubectl)
    nodes = _rows(await kubectl.ok("get", "nodes"))
    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert nodes[1][:3] == [NODE, "Ready", "<none>"] and nodes[1][4] == "v1.32.0+tinykube"
    lease = json.loads(await kubectl.ok("get", "lease", NODE, "-n", "kube-node-lease", "-o", "json"))
    assert lease["spec"]["holderIdentity"] == NODE

    await kubectl.ok("run", "web", "--image=busybox:1.36", f"--overrides={ON_NODE}", "--", "sleep", "inf")
    await kubectl.ok("wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
    pods = _rows(await kubectl.ok("get", "pods", "-o", "wide"))
    assert pods[1][:4] == ["web", "1/1", "Running", "0"]
    assert pods[1][6] == NODE

    deleted = await kubectl.ok("delete", "pod", "web", "--timeout=60s")
    assert deleted.strip() == 'pod "web" deleted'
    gone = await kubectl.run("get", "pod", "web")
    assert gone.code == 1 and 'pods "web" not found' in gone.err


SCHEDULED = """
apiVersion: v1
kind: Pod
metadata: {name: api, labels: {app: api}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, inf]}
"""


async def test_a_pod_applied_without_a_node_is_scheduled_here_and_runs(kubectl: Kubectl) -> None:
    await node_ready(kubectl)
    assert (await kubectl.ok("apply", "-f", "-", stdin=SCHEDULED)).strip() == "pod/api created"
    await kubectl.ok("wait", "--for=condition=Ready", "pod/api", "--timeout=60s")
    pod = json.loads(await kubectl.ok("get", "pod", "api", "-o", "json"))
    assert pod["spec"]["nodeName"] == NODE and pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    await kubectl.ok("delete", "-f", "-", "--timeout=60s", stdin=SCHEDULED)
    assert "No resources found" in (await kubectl.run("get", "pods")).err
