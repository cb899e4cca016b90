"""The scheduler over an in-memory cluster: decisions, failures, profiles, preemption, sampling."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from scheduler.algorithm import num_feasible_nodes_to_find
from scheduler.config import ProfileConfig, SchedulerConfig
from tests.scheduler.builders import cluster_scheduler, node, pod, schedule_all

SOFT_TAINT = {"key": "maintenance", "value": "soon", "effect": "PreferNoSchedule"}


async def test_decision_follows_the_documented_formulas() -> None:
    """busy: LeastAllocated (cpu 0, memory 62) -> 31, balanced (1.0 vs 0.375) 68, taint 100: 399.
    drained: LeastAllocated (75, 87) -> 81, balanced (0.25 vs 0.125) 93, one PreferNoSchedule taint
    -> taint 0: 174 + 400 (affinity, spread, image: 100 each when nothing differs... weights 2, 2, 1
    apply alike to all three). fresh: as drained with taint 100 -> 300 more than drained, above busy."""
    nodes = [
        node("busy", cpu="4", memory="8Gi"),
        node("drained", cpu="4", memory="8Gi", taints=[SOFT_TAINT]),
        node("fresh", cpu="4", memory="8Gi"),
    ]
    existing = pod("existing", cpu="3", memory="2Gi", node_name="busy")
    cluster, scheduler, _ = cluster_scheduler(nodes, [existing, pod("p", cpu="1", memory="1Gi")])
    await schedule_all(scheduler)
    assert cluster.node_of("default/p") == "fresh"
    assert cluster.events[-1].reason == "Scheduled"
    assert cluster.events[-1].message == "Successfully assigned default/p to fresh"


async def test_failed_scheduling_message_and_binding_once_a_node_fits() -> None:
    nodes = [
        node("tainted", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
        node("a", cpu="1"),
        node("b", cpu="1"),
    ]
    cluster, scheduler, clock = cluster_scheduler(nodes, [pod("p", cpu="2")])
    await schedule_all(scheduler)
    assert cluster.node_of("default/p") == ""
    assert cluster.events[-1].reason == "FailedScheduling"
    message = (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod."
    )
    assert cluster.events[-1].message == message
    condition = cluster.pods["default/p"]["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    cluster.add_node(node("large", cpu="8"))
    clock.advance(1.0)
    scheduler.queue.flush_backoff_completed()
    await schedule_all(scheduler)
    assert cluster.node_of("default/p") == "large"


async def test_no_nodes_message() -> None:
    cluster, scheduler, _ = cluster_scheduler([], [pod("p")])
    await schedule_all(scheduler)
    assert cluster.events[-1].message == "no nodes available to schedule pods"


async def test_pods_for_other_schedulers_are_ignored_and_profiles_apply_by_scheduler_name() -> None:
    packing = ProfileConfig(
        scheduler_name="bin-packer",
        plugin_args={"NodeResourcesFit": {"scoringStrategy": {"type": "MostAllocated"}}},
        disabled={"score": frozenset({"NodeResourcesBalancedAllocation"})},
    )
    config = SchedulerConfig(profiles=(ProfileConfig(), packing))
    nodes = [node("half-full", cpu="4", memory="8Gi"), node("empty", cpu="4", memory="8Gi")]
    pods = [
        pod("existing", cpu="2", memory="4Gi", node_name="half-full"),
        pod("spread", cpu="1", memory="1Gi"),
        pod("packed", cpu="1", memory="1Gi", schedulerName="bin-packer"),
        pod("elsewhere", cpu="1", schedulerName="someone-else"),
    ]
    cluster, scheduler, _ = cluster_scheduler(nodes, pods, config)
    await schedule_all(scheduler)
    assert cluster.node_of("default/spread") == "empty"
    assert cluster.node_of("default/packed") == "half-full"
    assert cluster.node_of("default/elsewhere") == ""
    assert all(event.pod_key != "default/elsewhere" for event in cluster.events)


async def test_preemption_evicts_the_lowest_priority_victims_and_nominates_the_node() -> None:
    nodes = [node("a", cpu="2"), node("b", cpu="2")]
    pods = [
        pod("important", cpu="2", priority=1000, node_name="a"),
        pod("batch", cpu="2", priority=10, node_name="b"),
        pod("urgent", cpu="2", priority=500),
    ]
    cluster, scheduler, clock = cluster_scheduler(nodes, pods)
    await schedule_all(scheduler)
    assert "default/batch" not in cluster.pods
    assert cluster.pods["default/urgent"]["status"]["nominatedNodeName"] == "b"
    failed = [e.message for e in cluster.events if e.pod_key == "default/urgent"]
    assert failed == ["0/2 nodes are available: 2 Insufficient cpu."]
    clock.advance(1.0)
    scheduler.queue.flush_backoff_completed()
    await schedule_all(scheduler)
    assert cluster.node_of("default/urgent") == "b"
    assert "default/important" in cluster.pods


async def test_pods_that_never_preempt_say_so() -> None:
    nodes = [node("a", cpu="1")]
    pods = [
        pod("low", cpu="1", node_name="a"),
        pod("polite", cpu="1", priority=100, preemptionPolicy="Never"),
    ]
    cluster, scheduler, _ = cluster_scheduler(nodes, pods)
    await schedule_all(scheduler)
    assert cluster.events[-1].message == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    )
    assert "default/low" in cluster.pods


@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    [
        (50, None, 50),
        (500, None, 230),
        (1000, None, 420),
        (5000, None, 500),
        (10000, None, 500),
        (6000, 1, 100),
        (5000, 30, 1500),
    ],
)
def test_nodes_to_find_follow_upstreams_adaptive_percentage(
    nodes: int, percentage: int | None, expected: int
) -> None:
    assert num_feasible_nodes_to_find(percentage, nodes) == expected


async def test_filtering_stops_at_the_sample_and_the_start_rotates() -> None:
    nodes = [node(f"n{i:03}", cpu="4") for i in range(200)]
    cluster, scheduler, _ = cluster_scheduler(nodes, [pod("p1", cpu="1"), pod("p2", cpu="1")])
    await schedule_all(scheduler)
    # 200 nodes -> 50 - 200/125 = 49 % -> 98, at least 100: each pod saw 100 nodes, the second from n100
    assert scheduler.algorithm.next_start_node_index == 0
    assert int(cluster.node_of("default/p1")[1:]) < 100 <= int(cluster.node_of("default/p2")[1:])


async def test_equal_best_scores_are_broken_at_random() -> None:
    choices: Counter[str] = Counter()
    for seed in range(40):
        cluster, scheduler, _ = cluster_scheduler([node("a"), node("b"), node("c")], [pod("p")], seed=seed)
        scheduler.algorithm.rng = random.Random(seed)
        await schedule_all(scheduler)
        choices[cluster.node_of("default/p")] += 1
    assert set(choices) == {"a", "b", "c"}


async def test_a_node_heartbeat_moves_no_pod_but_a_new_label_does() -> None:
    affine = pod("p", nodeSelector={"disk": "ssd"})
    cluster, scheduler, _ = cluster_scheduler([node("a")], [affine])
    await schedule_all(scheduler)
    assert scheduler.queue.pending()["unschedulable"] == 1
    heartbeat = node("a")
    heartbeat["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    cluster.add_node(heartbeat)
    assert scheduler.queue.pending()["unschedulable"] == 1
    cluster.add_node(node("a", labels={"disk": "ssd"}))
    assert scheduler.queue.pending()["unschedulable"] == 0
