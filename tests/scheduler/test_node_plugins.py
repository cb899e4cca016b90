"""Filter and Score tables for the node plugins, from kube-scheduler's documented behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework.interfaces import CycleState
from scheduler.framework.status import Code
from scheduler.objects import Pod
from scheduler.plugins.image_locality import ImageLocality
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_basic import NodeName, NodePorts, NodeUnschedulable, TaintToleration
from tests.scheduler.builders import filter_statuses, handle_for, info, node, pod, reasons, scores

GPU_TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("tolerations", "taints", "expected"),
    [
        ([], [GPU_TAINT], ("node(s) had untolerated taint {dedicated: gpu}",)),
        (
            [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
            [GPU_TAINT],
            (),
        ),
        (
            [{"key": "dedicated", "operator": "Equal", "value": "cpu"}],
            [GPU_TAINT],
            ("node(s) had untolerated taint {dedicated: gpu}",),
        ),
        ([{"key": "dedicated", "operator": "Exists"}], [GPU_TAINT], ()),
        ([{"operator": "Exists"}], [GPU_TAINT], ()),
        (
            [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}],
            [GPU_TAINT],
            ("node(s) had untolerated taint {dedicated: gpu}",),
        ),
        ([], [{"key": "soft", "value": "x", "effect": "PreferNoSchedule"}], ()),
        (
            [],
            [{"key": "evict", "value": "", "effect": "NoExecute"}],
            ("node(s) had untolerated taint {evict: }",),
        ),
    ],
)
def test_taint_toleration_filter(
    tolerations: list[Any], taints: list[Any], expected: tuple[str, ...]
) -> None:
    statuses = filter_statuses(
        TaintToleration(), pod("p", tolerations=tolerations), [info(node("n", taints=taints))]
    )
    assert reasons(statuses) == {"n": expected}
    if expected:
        assert statuses["n"] is not None and statuses["n"].code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_taint_toleration_scores_fewer_intolerable_prefer_no_schedule_taints_higher() -> None:
    soft = [{"key": f"k{i}", "value": "v", "effect": "PreferNoSchedule"} for i in range(2)]
    nodes = [info(node("clean")), info(node("two", taints=soft)), info(node("one", taints=soft[:1]))]
    assert scores(TaintToleration(), pod("p"), nodes) == {"clean": 100, "two": 0, "one": 50}
    tolerating = pod("p", tolerations=[{"key": "k0", "operator": "Exists", "effect": "PreferNoSchedule"}])
    assert scores(TaintToleration(), tolerating, nodes) == {"clean": 100, "two": 0, "one": 100}


@pytest.mark.parametrize(
    ("tolerations", "expected"),
    [
        ([], ("node(s) were unschedulable",)),
        ([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], ()),
    ],
)
def test_node_unschedulable(tolerations: list[Any], expected: tuple[str, ...]) -> None:
    nodes = [info(node("cordoned", unschedulable=True)), info(node("open"))]
    result = reasons(filter_statuses(NodeUnschedulable(), pod("p", tolerations=tolerations), nodes))
    assert result == {"cordoned": expected, "open": ()}


def test_node_name() -> None:
    nodes = [info(node("a")), info(node("b"))]
    assert reasons(filter_statuses(NodeName(), pod("p", nodeName="a"), nodes)) == {
        "a": (),
        "b": ("node(s) didn't match the requested node name",),
    }


def _ports(*ports: dict[str, Any]) -> dict[str, Any]:
    return pod("p", containers=[{"name": "c", "image": "i", "ports": list(ports)}])


@pytest.mark.parametrize(
    ("existing", "wanted", "conflict"),
    [
        ({"hostPort": 8080, "containerPort": 80}, {"hostPort": 8080, "containerPort": 80}, True),
        ({"hostPort": 8080, "containerPort": 80}, {"hostPort": 8081, "containerPort": 80}, False),
        (
            {"hostPort": 8080, "containerPort": 80, "protocol": "UDP"},
            {"hostPort": 8080, "containerPort": 80},
            False,
        ),
        (
            {"hostPort": 8080, "containerPort": 80, "hostIP": "10.0.0.1"},
            {"hostPort": 8080, "containerPort": 80, "hostIP": "10.0.0.2"},
            False,
        ),
        (
            {"hostPort": 8080, "containerPort": 80, "hostIP": "10.0.0.1"},
            {"hostPort": 8080, "containerPort": 80},
            True,
        ),
        ({"containerPort": 80}, {"containerPort": 80}, False),
    ],
)
def test_node_ports(existing: dict[str, Any], wanted: dict[str, Any], conflict: bool) -> None:
    nodes = [info(node("n"), _ports(existing))]
    expected = ("node(s) didn't have free ports for the requested pod ports",) if conflict else ()
    assert reasons(filter_statuses(NodePorts(), _ports(wanted), nodes)) == {"n": expected}


def _required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}
    }


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


ZONES = [
    info(node("a", labels={"zone": "z1", "cores": "8"})),
    info(node("b", labels={"zone": "z2", "cores": "16"})),
    info(node("c", labels={"cores": "4"})),
]
NOT_MATCHED = ("node(s) didn't match Pod's node affinity/selector",)


@pytest.mark.parametrize(
    ("spec", "matching"),
    [
        ({"nodeSelector": {"zone": "z1"}}, {"a"}),
        ({"affinity": _required(_expr("zone", "In", "z1", "z2"))}, {"a", "b"}),
        ({"affinity": _required(_expr("zone", "NotIn", "z1"))}, {"b", "c"}),
        ({"affinity": _required(_expr("zone", "Exists"))}, {"a", "b"}),
        ({"affinity": _required(_expr("zone", "DoesNotExist"))}, {"c"}),
        ({"affinity": _required(_expr("cores", "Gt", "6"))}, {"a", "b"}),
        ({"affinity": _required(_expr("cores", "Lt", "6"))}, {"c"}),
        ({"affinity": _required(_expr("zone", "In", "z1"), _expr("cores", "Lt", "6"))}, {"a", "c"}),
        ({"affinity": _required(_expr("zone", "In", "z2")), "nodeSelector": {"zone": "z1"}}, set()),
        ({"affinity": _required({})}, set()),
    ],
)
def test_node_affinity_filter(spec: dict[str, Any], matching: set[str]) -> None:
    result = reasons(filter_statuses(NodeAffinity({}), pod("p", **spec), ZONES))
    assert result == {name: () if name in matching else NOT_MATCHED for name in ("a", "b", "c")}


def test_node_affinity_match_fields_narrow_prefilter_to_named_nodes() -> None:
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}
    plugin = NodeAffinity({})
    result, status = plugin.pre_filter(CycleState(), Pod.parse(pod("p", affinity=_required(term))))
    assert status is None and result is not None and result.node_names == frozenset({"b"})


def test_node_affinity_preferred_terms_score_by_summed_weights_normalised() -> None:
    preferred = [
        {"weight": 2, "preference": _expr("zone", "In", "z1")},
        {"weight": 8, "preference": _expr("cores", "Gt", "10")},
    ]
    spec = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}}}
    assert scores(NodeAffinity({}), pod("p", **spec), ZONES) == {"a": 25, "b": 100, "c": 0}
    assert scores(NodeAffinity({}), pod("p"), ZONES) == {}


def test_node_affinity_added_affinity_is_enforced() -> None:
    plugin = NodeAffinity({"addedAffinity": _required(_expr("zone", "Exists"))["nodeAffinity"]})
    assert reasons(filter_statuses(plugin, pod("p"), ZONES))["c"] == (
        "node(s) didn't match scheduler-enforced node affinity",
    )


def test_image_locality_scales_by_size_and_spread() -> None:
    mb = 1024 * 1024
    image = "registry.example/app:1"
    with_image = info(node("has", images=[(image, 500 * mb)]))
    nodes = [with_image, info(node("without"))]
    plugin = ImageLocality(handle_for(*nodes))
    # 500 MB on 1 of 2 nodes -> 250 MB; (250 - 23) / (1000 - 23) of 100
    assert scores(plugin, pod("p", image=image), nodes) == {"has": 23, "without": 0}
    tagless = pod("p", image="registry.example/app")
    assert scores(plugin, tagless, nodes) == {"has": 0, "without": 0}
