from __future__ import annotations

from tests.scheduler.builders import cluster_scheduler, node, pod, schedule_all


async def test_pods_are_bound_to_the_node_that_fits() -> None:
    nodes = [node("small", cpu="1"), node("big", cpu="8")]
    cluster, scheduler, _ = cluster_scheduler(nodes, [pod("p", cpu="2")])
    await schedule_all(scheduler)
    assert cluster.node_of("default/p") == "big"


async def test_an_unschedulable_pod_gets_failed_scheduling_with_upstream_message() -> None:
    nodes = [
        node("tainted", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
        node("a", cpu="1"),
        node("b", cpu="1"),
    ]
    cluster, scheduler, _ = cluster_scheduler(nodes, [pod("p", cpu="2")])
    await schedule_all(scheduler)
    assert cluster.node_of("default/p") == ""
    assert cluster.events[-1].reason == "FailedScheduling"
    assert cluster.events[-1].message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod."
    )
