"""The kubelet as a node: its Node registered and kept current, its Lease renewed (on the FakeApi)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from api.client.clock import ManualClock
from api.client.fake import FakeApi
from api.client.resources import LEASES, NODES
from cri.domain.runtime import RuntimeCondition, RuntimeStatus, RuntimeVersion
from kubelet.config import KubeletConfiguration
from kubelet.node import build_kubelet, running
from kubelet.node_info import NodeFacts, allocatable
from kubelet.node_lease import NodeLease
from kubelet.node_status import NodeStatusReporter
from tests.kubelet.conftest import NODE
from tests.kubelet.conftest import test_config as kubelet_config
from tests.kubelet.fake_cri import serve_fake, wait_until

READY = RuntimeStatus(
    conditions=(
        RuntimeCondition(type="RuntimeReady", status=True),
        RuntimeCondition(type="NetworkReady", status=True),
    )
)
NO_NETWORK = RuntimeStatus(
    conditions=(
        RuntimeCondition(type="RuntimeReady", status=True),
        RuntimeCondition(
            type="NetworkReady", status=False, reason="NetworkPluginNotReady", message="cni not initialized"
        ),
    )
)


def _facts(tmp_path: Path, **overrides: object) -> NodeFacts:
    config = dataclasses.replace(kubelet_config(tmp_path), **overrides)  # type: ignore[arg-type]
    version = RuntimeVersion(runtime_name="containerd", runtime_version="1.7.24")
    return NodeFacts.gather(config, version, name=NODE, host_ip="192.0.2.10")


class Runtime:
    def __init__(self) -> None:
        self.status: RuntimeStatus | None = READY

    async def __call__(self) -> RuntimeStatus | None:
        return self.status


def _reporter(api: FakeApi, facts: NodeFacts, clock: ManualClock, runtime: Runtime) -> NodeStatusReporter:
    return NodeStatusReporter(api, facts, runtime_status=runtime, clock=clock, update_s=10.0, report_s=300.0)


def _conditions(node: dict[str, object]) -> dict[str, dict[str, str]]:
    status = node["status"]
    assert isinstance(status, dict)
    return {c["type"]: c for c in status["conditions"]}


def test_allocatable_is_capacity_minus_reservations() -> None:
    capacity = {"cpu": "4", "memory": "8192Ki", "pods": "110"}
    reserved = allocatable(capacity, {"cpu": "100m", "memory": "1Mi"}, {"cpu": "400m"})
    assert reserved == {"cpu": "3500m", "memory": "7168Ki", "pods": "110"}


async def test_registers_the_node_with_labels_taints_resources_and_node_info(tmp_path: Path) -> None:
    api, clock, runtime = FakeApi(), ManualClock(), Runtime()
    taint = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
    facts = _facts(
        tmp_path, kube_reserved={"memory": "1Mi"}, node_labels={"zone": "a"}, register_with_taints=(taint,)
    )
    reporter = _reporter(api, facts, clock, runtime)
    await reporter.register()
    assert await reporter.sync()
    node = await api.get(NODES, NODE)
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == NODE and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] and labels["zone"] == "a"
    assert node["spec"]["taints"] == [taint]
    status = node["status"]
    assert {"type": "InternalIP", "address": "192.0.2.10"} in status["addresses"]
    capacity_ki = int(status["capacity"]["memory"].removesuffix("Ki"))
    assert status["allocatable"]["memory"] == f"{capacity_ki - 1024}Ki"
    assert status["allocatable"]["pods"] == "110"
    assert status["nodeInfo"]["containerRuntimeVersion"] == "containerd://1.7.24"
    assert status["nodeInfo"]["kubeletVersion"] == "v1.32.0+tinykube"
    assert status["nodeInfo"]["operatingSystem"] == "linux" and status["nodeInfo"]["bootID"]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    conditions = _conditions(node)
    assert conditions["Ready"]["status"] == "True" and conditions["Ready"]["reason"] == "KubeletReady"
    assert {conditions[t]["status"] for t in ("MemoryPressure", "DiskPressure", "PIDPressure")} == {"False"}


async def test_a_restarted_kubelet_adopts_its_node(tmp_path: Path) -> None:
    api, clock, runtime = FakeApi(), ManualClock(), Runtime()
    first = await _reporter(api, _facts(tmp_path), clock, runtime).register()
    again = _reporter(api, _facts(tmp_path, node_labels={"zone": "b"}), clock, runtime)
    adopted = await again.register()
    assert adopted["metadata"]["uid"] == first["metadata"]["uid"]
    assert adopted["metadata"]["labels"]["zone"] == "b"
    assert len((await api.list(NODES)).items) == 1


async def test_status_is_posted_when_it_changes_and_every_report_period(tmp_path: Path) -> None:
    api, clock, runtime = FakeApi(), ManualClock(), Runtime()
    reporter = _reporter(api, _facts(tmp_path), clock, runtime)
    await reporter.register()
    assert await reporter.sync()
    clock.advance(10)
    assert not await reporter.sync(), "nothing changed: no write"
    runtime.status = NO_NETWORK
    clock.advance(10)
    assert await reporter.sync()
    ready = _conditions(await api.get(NODES, NODE))["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "KubeletNotReady"
    assert ready["message"] == (
        "container runtime network not ready: NetworkReady=false "
        "reason:NetworkPluginNotReady message:cni not initialized"
    )
    assert ready["lastTransitionTime"] == ready["lastHeartbeatTime"]
    clock.advance(299)
    assert not await reporter.sync()
    clock.advance(1)
    assert await reporter.sync(), "the report period passed: posted regardless"
    runtime.status = None
    assert await reporter.sync()
    assert _conditions(await api.get(NODES, NODE))["Ready"]["message"] == "container runtime is down"


async def test_the_lease_is_created_owned_by_the_node_and_renewed(tmp_path: Path) -> None:
    api, clock = FakeApi(), ManualClock()
    node = await _reporter(api, _facts(tmp_path), clock, Runtime()).register()
    lease = NodeLease(api, node, clock=clock, duration_s=40, renew_s=10)
    created = await lease.renew()
    assert created["metadata"]["namespace"] == "kube-node-lease" and created["metadata"]["name"] == NODE
    assert created["spec"]["holderIdentity"] == NODE and created["spec"]["leaseDurationSeconds"] == 40
    [owner] = created["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("Node", node["metadata"]["uid"])
    clock.advance(10)
    renewed = await lease.renew()
    assert renewed["metadata"]["uid"] == created["metadata"]["uid"]
    assert renewed["spec"]["renewTime"] > created["spec"]["renewTime"]


async def test_the_kubelet_with_an_api_registers_and_keeps_its_lease(tmp_path: Path) -> None:
    api, clock = FakeApi(), ManualClock()
    config: KubeletConfiguration = kubelet_config(tmp_path)
    async with serve_fake(tmp_path) as cri:
        kubelet = build_kubelet(config, cri.client, api=api, node_clock=clock)
        async with running(kubelet):
            assert kubelet.cluster is not None
            await wait_until("the node registered", kubelet.cluster.registered.is_set)
            await wait_until("the lease", lambda: ("create", "leases") in api.requests)
            await wait_until("the status", lambda: ("patch", "nodes") in api.requests)
            node = await api.get(NODES, NODE)
            assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("tinykube-fake://")
            assert _conditions(node)["Ready"]["status"] == "True"
            first = (await api.get(LEASES, NODE, namespace="kube-node-lease"))["spec"]["renewTime"]
            await wait_until("both loops asleep", lambda: clock.sleepers >= 2)
            clock.advance(10)
            await wait_until("the lease renewed", lambda: ("update", "leases") in api.requests)
            renewed = await api.get(LEASES, NODE, namespace="kube-node-lease")
            assert renewed["spec"]["renewTime"] > first
