"""Sandbox lifecycle, attributes, states and filters."""

from __future__ import annotations

import time

import pytest

from conformance.checks.helpers import HEX64, NS_2001
from conformance.workspace import Workspace
from cri import domain as d
from cri.errors import CRIError, NotFound

pytestmark = pytest.mark.conformance
READY, NOTREADY = d.PodSandboxState.SANDBOX_READY, d.PodSandboxState.SANDBOX_NOTREADY


def _state(state: d.PodSandboxState) -> d.PodSandboxStateValue:
    return d.PodSandboxStateValue(state=state)


async def _ids(ws: Workspace, filter_: d.PodSandboxFilter) -> set[str]:
    return {s.id for s in await ws.cri.list_pod_sandbox(filter_)}


async def test_run_returns_full_id(ws: Workspace) -> None:
    """RunPodSandbox answers a 64-hex id: the kubelet stores it and crictl truncates it to 13 chars."""
    pod = await ws.run_pod()
    assert HEX64.fullmatch(pod.id), pod.id


async def test_ready_after_run(ws: Workspace) -> None:
    """A sandbox is READY when RunPodSandbox returns: the kubelet starts containers right away."""
    pod = await ws.run_pod()
    assert (await ws.sandbox_status(pod.id)).state == READY


async def test_status_metadata_round_trip(ws: Workspace) -> None:
    """PodSandboxStatus returns the metadata sent: the kubelet maps sandboxes back to pods by it."""
    pod = await ws.run_pod()
    assert (await ws.sandbox_status(pod.id)).metadata == pod.config.metadata


async def test_labels_byte_for_byte(ws: Workspace) -> None:
    """Labels come back byte for byte: the kubelet finds its pods by io.kubernetes.* labels."""
    pod = await ws.run_pod(labels={"tk/odd": "ü ✓ with spaces", "empty": ""})
    assert (await ws.sandbox_status(pod.id)).labels == pod.config.labels


async def test_annotations_byte_for_byte(ws: Workspace) -> None:
    """Annotations come back byte for byte: the kubelet keeps pod state (e.g. hashes) in them."""
    pod = await ws.run_pod(annotations={"tk/json": '{"a": [1, 2]}', "tk/unicode": "ß ✓"})
    assert (await ws.sandbox_status(pod.id)).annotations == pod.config.annotations


async def test_created_at_is_nanoseconds(ws: Workspace) -> None:
    """created_at is int64 nanoseconds near now: the kubelet orders sandboxes of a pod by it."""
    before = time.time_ns()
    pod = await ws.run_pod()
    created = (await ws.sandbox_status(pod.id)).created_at
    assert created > NS_2001 and abs(created - before) < 300 * 10**9


async def test_status_id_is_full_id(ws: Workspace) -> None:
    """PodSandboxStatus reports the full id: the kubelet compares ids byte for byte."""
    pod = await ws.run_pod()
    assert (await ws.sandbox_status(pod.id)).id == pod.id


async def test_status_by_unique_prefix(ws: Workspace) -> None:
    """A unique id prefix is accepted: users paste crictl's 13-char ids back."""
    pod = await ws.run_pod()
    assert (await ws.sandbox_status(pod.id[:13])).id == pod.id


async def test_notready_after_stop(ws: Workspace) -> None:
    """StopPodSandbox makes the sandbox NOTREADY: the kubelet then recreates or removes it."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    assert (await ws.sandbox_status(pod.id)).state == NOTREADY


async def test_stop_twice(ws: Workspace) -> None:
    """StopPodSandbox is idempotent: the kubelet retries stops after errors and restarts."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.stop_pod_sandbox(pod.id)
    assert (await ws.sandbox_status(pod.id)).state == NOTREADY


async def test_remove_after_stop(ws: Workspace) -> None:
    """RemovePodSandbox deletes it: PodSandboxStatus then answers NOT_FOUND, as the kubelet expects."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    with pytest.raises(NotFound):
        await ws.cri.pod_sandbox_status(pod.id)


async def test_remove_twice(ws: Workspace) -> None:
    """RemovePodSandbox of a removed sandbox succeeds: the kubelet's garbage collector retries."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    assert pod.id not in await _ids(ws, d.PodSandboxFilter())


async def test_remove_ready_sandbox(ws: Workspace) -> None:
    """RemovePodSandbox of a READY sandbox force-removes it: pods deleted mid-start must go away."""
    pod = await ws.run_pod()
    await ws.cri.remove_pod_sandbox(pod.id)
    assert pod.id not in await _ids(ws, d.PodSandboxFilter())


async def test_removed_not_listed(ws: Workspace) -> None:
    """A removed sandbox is not listed: the kubelet's relist would resurrect it otherwise."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    assert pod.id not in await _ids(ws, d.PodSandboxFilter(id=pod.id))


async def test_stop_stops_containers(ws: Workspace) -> None:
    """StopPodSandbox stops every container in it: the kubelet relies on it when killing a pod."""
    pod = await ws.run_pod()
    container_id = await ws.start(pod)
    await ws.cri.stop_pod_sandbox(pod.id)
    assert (await ws.status(container_id)).state == d.ContainerState.CONTAINER_EXITED


async def test_remove_removes_containers(ws: Workspace) -> None:
    """RemovePodSandbox removes its containers: nothing may outlive the pod."""
    pod = await ws.run_pod()
    container_id = await ws.start(pod)
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    with pytest.raises(NotFound):
        await ws.cri.container_status(container_id)


async def test_list_includes_new_sandbox(ws: Workspace) -> None:
    """ListPodSandbox includes a new sandbox with its metadata: the kubelet relists every second."""
    pod = await ws.run_pod()
    listed = {s.id: s for s in await ws.cri.list_pod_sandbox()}
    assert listed[pod.id].metadata == pod.config.metadata and listed[pod.id].state == READY


async def test_list_entry_fields(ws: Workspace) -> None:
    """Listed sandboxes carry labels, annotations and created_at: crictl pods shows them."""
    pod = await ws.run_pod(annotations={"tk/a": "b"})
    [entry] = await ws.cri.list_pod_sandbox(d.PodSandboxFilter(id=pod.id))
    assert entry.labels == pod.config.labels and entry.annotations == pod.config.annotations
    assert entry.created_at > NS_2001


async def test_filter_by_id(ws: Workspace) -> None:
    """The id filter returns just that sandbox: the kubelet looks sandboxes up this way."""
    first, second = await ws.run_pod(), await ws.run_pod()
    assert await _ids(ws, d.PodSandboxFilter(id=first.id)) == {first.id}
    assert second.id not in await _ids(ws, d.PodSandboxFilter(id=first.id))


async def test_filter_by_id_prefix(ws: Workspace) -> None:
    """The id filter accepts a prefix: crictl pods --id takes truncated ids."""
    pod = await ws.run_pod()
    assert await _ids(ws, d.PodSandboxFilter(id=pod.id[:13])) == {pod.id}


async def test_filter_by_state_ready(ws: Workspace) -> None:
    """The READY state filter leaves out stopped sandboxes: the kubelet counts running pods with it."""
    ready, stopped = await ws.run_pod(), await ws.run_pod()
    await ws.cri.stop_pod_sandbox(stopped.id)
    listed = await _ids(ws, d.PodSandboxFilter(state=_state(READY)))
    assert ready.id in listed and stopped.id not in listed


async def test_filter_by_state_notready(ws: Workspace) -> None:
    """The NOTREADY filter returns stopped sandboxes only: the garbage collector finds them so."""
    ready, stopped = await ws.run_pod(), await ws.run_pod()
    await ws.cri.stop_pod_sandbox(stopped.id)
    listed = await _ids(ws, d.PodSandboxFilter(state=_state(NOTREADY)))
    assert stopped.id in listed and ready.id not in listed


async def test_filter_by_label(ws: Workspace) -> None:
    """The label selector matches exactly: the kubelet selects its pods by io.kubernetes.pod.uid."""
    first, second = await ws.run_pod(), await ws.run_pod()
    uid = first.config.labels["io.kubernetes.pod.uid"]
    assert await _ids(ws, d.PodSandboxFilter(label_selector={"io.kubernetes.pod.uid": uid})) == {first.id}
    assert second.id != first.id


async def test_filter_labels_are_anded(ws: Workspace) -> None:
    """Every label of the selector must match: filters are ANDed."""
    pod = await ws.run_pod(labels={"tk/a": "1"})
    uid = pod.config.labels["io.kubernetes.pod.uid"]
    both = {"io.kubernetes.pod.uid": uid, "tk/a": "1"}
    mismatch = {"io.kubernetes.pod.uid": uid, "tk/a": "2"}
    assert await _ids(ws, d.PodSandboxFilter(label_selector=both)) == {pod.id}
    assert await _ids(ws, d.PodSandboxFilter(label_selector=mismatch)) == set()


async def test_filter_id_and_state_anded(ws: Workspace) -> None:
    """id and state filters combine: a stopped sandbox's id with state READY matches nothing."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    assert await _ids(ws, d.PodSandboxFilter(id=pod.id, state=_state(READY))) == set()
    assert await _ids(ws, d.PodSandboxFilter(id=pod.id, state=_state(NOTREADY))) == {pod.id}


async def test_duplicate_name_rejected(ws: Workspace) -> None:
    """A second sandbox with the same name/namespace/uid/attempt is rejected: names are reserved."""
    pod = await ws.run_pod()
    with pytest.raises(CRIError):
        ws.sandboxes.append(await ws.cri.run_pod_sandbox(pod.config))
    assert len(await _ids(ws, d.PodSandboxFilter(label_selector=dict(pod.config.labels)))) == 1


async def test_name_reusable_after_remove(ws: Workspace) -> None:
    """After RemovePodSandbox the name is free again: a recreated pod reuses its name."""
    pod = await ws.run_pod()
    await ws.cri.stop_pod_sandbox(pod.id)
    await ws.cri.remove_pod_sandbox(pod.id)
    again = await ws.run_pod(pod.config)
    assert again.id != pod.id


async def test_next_attempt_allowed(ws: Workspace) -> None:
    """The same pod with attempt+1 gets a new sandbox: the kubelet recreates sandboxes that died."""
    pod = await ws.run_pod(name="attempts", attempt=0)
    meta = pod.config.metadata
    assert meta is not None
    again = await ws.run_pod(name="attempts", attempt=1, uid=meta.uid)
    assert again.id != pod.id and (await ws.sandbox_status(again.id)).metadata.attempt == 1  # type: ignore[union-attr]


async def test_verbose_status_info_is_json(ws: Workspace) -> None:
    """Verbose PodSandboxStatus info is JSON: crictl inspectp parses it."""
    import json

    pod = await ws.run_pod()
    info = (await ws.cri.pod_sandbox_status(pod.id, verbose=True)).info
    assert info and all(isinstance(json.loads(value), dict | list) for value in info.values())


async def test_status_timestamp_implies_containers(ws: Workspace) -> None:
    """If PodSandboxStatus sets timestamp it also fills containers_statuses: evented PLEG reads both."""
    pod = await ws.run_pod()
    container_id = await ws.create(pod)
    result = await ws.cri.pod_sandbox_status(pod.id)
    if result.timestamp:
        assert container_id in {c.id for c in result.containers_statuses}
    else:
        assert result.containers_statuses == ()


async def test_namespace_options_reported(ws: Workspace) -> None:
    """PodSandboxStatus reports the namespace options: the kubelet checks host-network pods by it."""
    options = d.NamespaceOption(network=d.NamespaceMode.NODE, pid=d.NamespaceMode.CONTAINER)
    linux = d.LinuxPodSandboxConfig(security_context=d.LinuxSandboxSecurityContext(namespace_options=options))
    pod = await ws.run_pod(linux=linux)
    status = await ws.sandbox_status(pod.id)
    assert status.linux and status.linux.namespaces and status.linux.namespaces.options
    assert status.linux.namespaces.options.network == d.NamespaceMode.NODE


async def test_pod_ip_assigned(ws: Workspace) -> None:
    """A pod-network sandbox reports its IP: the kubelet publishes it as status.podIP."""
    pod = await ws.run_pod()
    network = (await ws.sandbox_status(pod.id)).network
    assert network is not None and network.ip.count(".") == 3


async def test_distinct_pod_ips(ws: Workspace) -> None:
    """Two sandboxes get different IPs: pod IPs must be unique on the node."""
    first, second = await ws.run_pod(), await ws.run_pod()
    ip1 = (await ws.sandbox_status(first.id)).network
    ip2 = (await ws.sandbox_status(second.id)).network
    assert ip1 and ip2 and ip1.ip != ip2.ip
