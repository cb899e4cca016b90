"""PodTopologySpread and InterPodAffinity tables, from kube-scheduler's documented behaviour."""

from __future__ import annotations

from typing import Any

from scheduler.plugins.inter_pod_affinity import InterPodAffinity
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from tests.scheduler.builders import filter_statuses, handle_for, info, node, pod, reasons, scores

WEB = {"app": "web"}


def _zone_nodes(*counts: int) -> list[Any]:
    """One node per zone z0, z1, ... with that many app=web pods on it."""
    return [
        info(node(f"n{z}", labels={"zone": f"z{z}"}), *(pod(f"w{z}-{i}", labels=WEB) for i in range(count)))
        for z, count in enumerate(counts)
    ]


def _spread(max_skew: int, when: str = "DoNotSchedule", **extra: Any) -> dict[str, Any]:
    constraint = {
        "maxSkew": max_skew,
        "topologyKey": "zone",
        "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": WEB},
        **extra,
    }
    return {"topologySpreadConstraints": [constraint]}


SKEW = ("node(s) didn't match pod topology spread constraints",)


def test_topology_spread_filter_allows_zones_within_max_skew() -> None:
    nodes = _zone_nodes(2, 0, 1)
    plugin = PodTopologySpread({}, handle_for(*nodes))
    result = reasons(filter_statuses(plugin, pod("p", labels=WEB, **_spread(1)), nodes))
    assert result == {"n0": SKEW, "n1": (), "n2": SKEW}
    result = reasons(filter_statuses(plugin, pod("p", labels=WEB, **_spread(2)), nodes))
    assert result == {"n0": SKEW, "n1": (), "n2": ()}


def test_topology_spread_pod_not_matching_its_selector_does_not_count_itself() -> None:
    nodes = _zone_nodes(1, 0)
    plugin = PodTopologySpread({}, handle_for(*nodes))
    assert reasons(filter_statuses(plugin, pod("p", **_spread(1)), nodes)) == {"n0": (), "n1": ()}


def test_topology_spread_node_without_the_key_is_unresolvable() -> None:
    nodes = [*_zone_nodes(0), info(node("bare"))]
    plugin = PodTopologySpread({}, handle_for(*nodes))
    assert reasons(filter_statuses(plugin, pod("p", labels=WEB, **_spread(1)), nodes))["bare"] == (
        "node(s) didn't match pod topology spread constraints (missing required label)",
    )


def test_topology_spread_min_domains_treats_the_minimum_as_zero() -> None:
    nodes = _zone_nodes(1, 1)
    plugin = PodTopologySpread({}, handle_for(*nodes))
    assert reasons(filter_statuses(plugin, pod("p", labels=WEB, **_spread(1)), nodes)) == {"n0": (), "n1": ()}
    with_min = pod("p", labels=WEB, **_spread(1, minDomains=3))
    assert reasons(filter_statuses(plugin, with_min, nodes)) == {"n0": SKEW, "n1": SKEW}


def test_topology_spread_score_prefers_emptier_domains() -> None:
    nodes = _zone_nodes(3, 0, 1)
    plugin = PodTopologySpread({}, handle_for(*nodes))
    result = scores(plugin, pod("p", labels=WEB, **_spread(1, "ScheduleAnyway")), nodes)
    assert result["n1"] == 100 and result["n1"] > result["n2"] > result["n0"]


def test_topology_spread_without_constraints_or_workload_skips() -> None:
    nodes = _zone_nodes(1)
    plugin = PodTopologySpread({}, handle_for(*nodes))
    assert scores(plugin, pod("p"), nodes) == {}


def _anti(labels: dict[str, str], key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": labels}, "topologyKey": key}
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def _affinity(labels: dict[str, str], key: str) -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": labels}, "topologyKey": key}
    return {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def test_required_anti_affinity_keeps_replicas_apart() -> None:
    nodes = [info(node("a"), pod("web-1", labels=WEB)), info(node("b"))]
    plugin = InterPodAffinity({}, handle_for(*nodes))
    result = reasons(filter_statuses(plugin, pod("web-2", labels=WEB, **_anti(WEB)), nodes))
    assert result == {"a": ("node(s) didn't match pod anti-affinity rules",), "b": ()}


def test_existing_pods_anti_affinity_is_respected() -> None:
    nodes = [info(node("a"), pod("loner", **_anti(WEB))), info(node("b"))]
    plugin = InterPodAffinity({}, handle_for(*nodes))
    result = reasons(filter_statuses(plugin, pod("web", labels=WEB), nodes))
    assert result == {"a": ("node(s) didn't satisfy existing pods anti-affinity rules",), "b": ()}


def test_required_affinity_follows_the_matching_pods_topology() -> None:
    nodes = [
        info(node("a", labels={"zone": "z1"}), pod("db", labels={"app": "db"})),
        info(node("b", labels={"zone": "z1"})),
        info(node("c", labels={"zone": "z2"})),
    ]
    plugin = InterPodAffinity({}, handle_for(*nodes))
    result = reasons(filter_statuses(plugin, pod("app", **_affinity({"app": "db"}, "zone")), nodes))
    assert result == {"a": (), "b": (), "c": ("node(s) didn't match pod affinity rules",)}


def test_first_pod_of_a_self_affine_group_may_go_anywhere_with_the_key() -> None:
    nodes = [info(node("a", labels={"zone": "z1"})), info(node("b"))]
    plugin = InterPodAffinity({}, handle_for(*nodes))
    result = reasons(filter_statuses(plugin, pod("web", labels=WEB, **_affinity(WEB, "zone")), nodes))
    assert result == {"a": (), "b": ("node(s) didn't match pod affinity rules",)}


def test_preferred_affinity_scores_nodes_in_the_matching_topology() -> None:
    nodes = [
        info(node("a", labels={"zone": "z1"}), pod("db", labels={"app": "db"})),
        info(node("b", labels={"zone": "z2"})),
    ]
    plugin = InterPodAffinity({}, handle_for(*nodes))
    term = {
        "weight": 50,
        "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"},
    }
    spec = {"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [term]}}}
    assert scores(plugin, pod("p", **spec), nodes) == {"a": 100, "b": 0}
    spec = {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [term]}}}
    assert scores(plugin, pod("p", **spec), nodes) == {"a": 0, "b": 100}
