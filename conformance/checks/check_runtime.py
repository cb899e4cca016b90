"""Runtime info: Version, Status, RuntimeConfig, UpdateRuntimeConfig, metrics descriptors."""

from __future__ import annotations

import json

import pytest

from conformance.workspace import Workspace
from cri import domain as d
from cri.client import CRIClient
from cri.errors import Unimplemented

pytestmark = pytest.mark.conformance


async def test_version_api_is_v1(cri: CRIClient) -> None:
    """Version answers runtime_api_version v1: the kubelet refuses runtimes speaking another API."""
    version = await cri.version()
    assert version.runtime_api_version == "v1"


async def test_version_names_runtime(cri: CRIClient) -> None:
    """Version names the runtime and its version: the node status shows them (containerRuntimeVersion)."""
    version = await cri.version()
    assert version.runtime_name and version.runtime_version


async def test_version_kubelet_api_version(cri: CRIClient) -> None:
    """Version answers version 0.1.0: the kubelet API version CRI clients compare against."""
    assert (await cri.version()).version == "0.1.0"


async def test_status_runtime_ready(cri: CRIClient) -> None:
    """Status reports RuntimeReady true: otherwise the kubelet marks the node NotReady."""
    conditions = {c.type: c for c in (await cri.status()).status.conditions}  # type: ignore[union-attr]
    assert conditions["RuntimeReady"].status is True


async def test_status_network_ready(cri: CRIClient) -> None:
    """Status reports NetworkReady true with a CNI config: the kubelet only schedules pods then."""
    conditions = {c.type: c for c in (await cri.status()).status.conditions}  # type: ignore[union-attr]
    assert "NetworkReady" in conditions and conditions["NetworkReady"].status is True


async def test_status_condition_types_unique(cri: CRIClient) -> None:
    """Each condition type appears once: the kubelet reads them into a map."""
    types = [c.type for c in (await cri.status()).status.conditions]  # type: ignore[union-attr]
    assert len(types) == len(set(types)) and types


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="its lastCNILoadStatus info values are plain text ('OK')",
    raises=AssertionError,
    match=r"^info\['lastCNILoadStatus(\.default)?'\] is not JSON: 'OK'",
)
async def test_status_verbose_info_is_json(cri: CRIClient) -> None:
    """Verbose Status info values are JSON: crictl info parses every one of them."""
    info = (await cri.status(verbose=True)).info
    assert info, "verbose Status returned no info"
    for key, value in info.items():
        try:
            json.loads(value)
        except ValueError as exc:
            raise AssertionError(f"info[{key!r}] is not JSON: {value[:80]!r}") from exc


async def test_status_is_stable(cri: CRIClient) -> None:
    """Two Status calls agree on the conditions: the kubelet polls Status and flaps on changes."""
    first, second = await cri.status(), await cri.status()
    assert first.status == second.status


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="runtime_handlers arrived in containerd 1.7 (cri-api 0.29)",
    raises=AssertionError,
    match=r"^no runtime_handlers in Status",
)
async def test_status_lists_default_handler(cri: CRIClient) -> None:
    """Status lists the runtime handlers with their features: the kubelet reports them on the node."""
    handlers = (await cri.status()).runtime_handlers
    assert handlers, "no runtime_handlers in Status"
    assert all(h.features is not None for h in handlers)


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="RuntimeConfig RPC is UNIMPLEMENTED before containerd 1.7",
    raises=Unimplemented,
    match=r"^unknown method RuntimeConfig for service runtime\.v1\.RuntimeService",
)
async def test_runtime_config_cgroup_driver(cri: CRIClient) -> None:
    """RuntimeConfig names the cgroup driver: the kubelet adopts it instead of its own setting."""
    config = await cri.runtime_config()
    assert config.linux is not None
    assert config.linux.cgroup_driver in (d.CgroupDriver.CGROUPFS, d.CgroupDriver.SYSTEMD)


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="RuntimeConfig RPC is UNIMPLEMENTED before containerd 1.7",
    raises=Unimplemented,
    match=r"^unknown method RuntimeConfig for service runtime\.v1\.RuntimeService",
)
async def test_runtime_config_is_stable(cri: CRIClient) -> None:
    """RuntimeConfig never changes while the runtime runs: the kubelet reads it once at start."""
    assert await cri.runtime_config() == await cri.runtime_config()


async def test_update_runtime_config_pod_cidr(cri: CRIClient) -> None:
    """UpdateRuntimeConfig accepts the node's pod CIDR: the kubelet sends it once the node has one."""
    config = d.RuntimeConfig(network_config=d.NetworkConfig(pod_cidr="10.211.0.0/24"))
    await cri.update_runtime_config(config)
    assert (await cri.status()).status is not None


async def test_update_runtime_config_empty(cri: CRIClient) -> None:
    """UpdateRuntimeConfig with no network config is accepted: the kubelet may send an empty one."""
    await cri.update_runtime_config(d.RuntimeConfig())
    assert (await cri.version()).runtime_api_version == "v1"


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="ListMetricDescriptors is UNIMPLEMENTED before containerd 1.7",
    raises=Unimplemented,
    match=r"^unknown method ListMetricDescriptors for service runtime\.v1\.RuntimeService",
)
async def test_list_metric_descriptors(cri: CRIClient) -> None:
    """ListMetricDescriptors answers, each metric named once: the kubelet's CRI metrics path calls it."""
    names = [desc.name for desc in await cri.list_metric_descriptors()]
    assert all(names) and len(set(names)) == len(names), names


@pytest.mark.deviation(
    "containerd",
    "1.6",
    reason="ListPodSandboxMetrics is UNIMPLEMENTED before containerd 1.7",
    raises=Unimplemented,
    match=r"^unknown method ListPodSandboxMetrics for service runtime\.v1\.RuntimeService",
)
async def test_list_pod_sandbox_metrics(ws: Workspace) -> None:
    """ListPodSandboxMetrics covers a running pod with described metrics, or nothing when none is described.

    The kubelet's /metrics/cadvisor replacement reads them; a runtime describing no metric serves none.
    """
    pod = await ws.run_pod()
    await ws.start(pod)
    metrics = await ws.cri.list_pod_sandbox_metrics()
    described = {desc.name for desc in await ws.cri.list_metric_descriptors()}
    if not described:
        assert metrics == [], "pod sandbox metrics, but no metric is described"
        return
    [mine] = [m for m in metrics if m.pod_sandbox_id == pod.id]
    names = {m.name for m in mine.metrics} | {m.name for c in mine.container_metrics for m in c.metrics}
    assert names and names <= described, (names, described)
