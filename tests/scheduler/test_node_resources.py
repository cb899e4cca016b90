"""NodeResourcesFit and NodeResourcesBalancedAllocation, with the figures of upstream's formulas."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.objects import Pod
from scheduler.plugins.node_resources import NodeResourcesBalancedAllocation, NodeResourcesFit
from tests.scheduler.builders import filter_statuses, info, node, pod, reasons, scores


def _container(cpu: str, restart_policy: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": f"c{cpu}", "image": "i", "resources": {"requests": {"cpu": cpu}}}
    if restart_policy:
        container["restartPolicy"] = restart_policy
    return container


@pytest.mark.parametrize(
    ("spec", "millicores"),
    [
        ({"containers": [_container("1"), _container("500m")]}, 1500),
        ({"initContainers": [_container("3")], "containers": [_container("1")]}, 3000),
        ({"initContainers": [_container("1", "Always")], "containers": [_container("1")]}, 2000),
        # a regular init container runs beside the sidecars started before it: max(1+1, 2+1)
        (
            {"initContainers": [_container("1", "Always"), _container("2")], "containers": [_container("1")]},
            3000,
        ),
        ({"containers": [_container("1")], "overhead": {"cpu": "250m"}}, 1250),
    ],
)
def test_pod_requests_count_init_containers_sidecars_and_overhead(
    spec: dict[str, Any], millicores: int
) -> None:
    assert Pod.parse(pod("p", **spec)).requests.milli_cpu == millicores


def test_pods_without_requests_are_scored_with_upstream_non_zero_defaults() -> None:
    parsed = Pod.parse(pod("p"))
    assert (parsed.requests.milli_cpu, parsed.requests.memory) == (0, 0)
    assert (parsed.non_zero_requests.milli_cpu, parsed.non_zero_requests.memory) == (100, 200 * 1024 * 1024)


@pytest.mark.parametrize(
    ("existing", "incoming", "node_kwargs", "expected"),
    [
        ([pod("e", cpu="3")], pod("p", cpu="2"), {}, ("Insufficient cpu",)),
        ([pod("e", cpu="3")], pod("p", cpu="1"), {}, ()),
        ([pod("e", memory="30Gi")], pod("p", memory="4Gi"), {}, ("Insufficient memory",)),
        (
            [pod("e", cpu="3", memory="30Gi")],
            pod("p", cpu="2", memory="4Gi"),
            {},
            ("Insufficient cpu", "Insufficient memory"),
        ),
        ([pod("e")], pod("p"), {"pods": 1}, ("Too many pods",)),
        ([pod("e", cpu="5")], pod("p"), {}, ()),
        (
            [],
            pod(
                "p",
                containers=[{"name": "c", "image": "i", "resources": {"requests": {"example.com/gpu": "2"}}}],
            ),
            {"extra": {"example.com/gpu": "1"}},
            ("Insufficient example.com/gpu",),
        ),
        (
            [],
            pod(
                "p",
                containers=[
                    {"name": "c", "image": "i", "resources": {"requests": {"ephemeral-storage": "1Gi"}}}
                ],
            ),
            {},
            ("Insufficient ephemeral-storage",),
        ),
    ],
)
def test_fit_filter(
    existing: list[Any], incoming: dict[str, Any], node_kwargs: dict[str, Any], expected: tuple[str, ...]
) -> None:
    nodes = [info(node("n", **node_kwargs), *existing)]
    assert reasons(filter_statuses(NodeResourcesFit({}), incoming, nodes)) == {"n": expected}


def test_fit_ignores_ignored_extended_resources() -> None:
    incoming = pod(
        "p", containers=[{"name": "c", "image": "i", "resources": {"requests": {"example.com/gpu": "1"}}}]
    )
    plugin = NodeResourcesFit({"ignoredResources": ["example.com/gpu"]})
    assert reasons(filter_statuses(plugin, incoming, [info(node("n"))])) == {"n": ()}


# upstream's "nothing scheduled, resources requested, differently sized nodes" case
SIZED = [info(node("node1", cpu="4", memory="10000")), info(node("node2", cpu="6", memory="10000"))]
REQUEST = pod("p", cpu="3", memory="5000")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ({"type": "LeastAllocated"}, {"node1": 37, "node2": 50}),
        ({"type": "MostAllocated"}, {"node1": 62, "node2": 50}),
        (
            {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {
                    "shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]
                },
            },
            {"node1": 38, "node2": 50},
        ),
        (
            {
                "type": "LeastAllocated",
                "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}],
            },
            {"node1": 31, "node2": 50},
        ),
    ],
)
def test_fit_scoring_strategies(strategy: dict[str, Any], expected: dict[str, int]) -> None:
    assert scores(NodeResourcesFit({"scoringStrategy": strategy}), REQUEST, SIZED) == expected


def test_least_allocated_counts_pods_without_requests_at_the_defaults() -> None:
    nodes = [info(node("busy", cpu="1", memory="1Gi"), pod("e")), info(node("idle", cpu="1", memory="1Gi"))]
    result = scores(NodeResourcesFit({}), pod("p"), nodes)
    assert result["idle"] > result["busy"]


def test_balanced_allocation_favours_equal_cpu_and_memory_fractions() -> None:
    # fractions 0.75 / 0.5 -> std 0.125 -> 87; 0.5 / 0.5 -> 100
    assert scores(NodeResourcesBalancedAllocation({}), REQUEST, SIZED) == {"node1": 87, "node2": 100}
