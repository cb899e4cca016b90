"""KubeSchedulerConfiguration v1: defaults, profiles, plugin sets and args, and upstream-worded errors."""

from __future__ import annotations

import pytest

from scheduler.config import ConfigError, load_config
from scheduler.plugins.registry import in_tree_registry
from scheduler.profile import build_framework
from tests.scheduler.builders import handle_for

KNOWN = in_tree_registry().names()
HEADER = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"


def _framework_names(text: str, profile: int = 0) -> dict[str, list[str]]:
    config = load_config(HEADER + text, KNOWN)
    framework = build_framework(config.profiles[profile], in_tree_registry(), handle_for())
    plugins = framework.plugins
    return {
        "filter": [p.name for p in plugins.filter],
        "score": [f"{p.name}={w}" for p, w in plugins.score],
        "postFilter": [p.name for p in plugins.post_filter],
    }


def test_defaults_are_upstreams_plugins_and_weights() -> None:
    names = _framework_names("")
    assert names["filter"] == [
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodePorts",
        "NodeResourcesFit",
        "PodTopologySpread",
        "InterPodAffinity",
    ]
    assert names["score"] == [
        "TaintToleration=3",
        "NodeAffinity=2",
        "NodeResourcesFit=1",
        "PodTopologySpread=2",
        "InterPodAffinity=2",
        "NodeResourcesBalancedAllocation=1",
        "ImageLocality=1",
    ]
    assert names["postFilter"] == ["DefaultPreemption"]


def test_plugins_disabled_and_reweighted_per_extension_point() -> None:
    names = _framework_names(
        """
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      disabled: [{name: ImageLocality}, {name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
    postFilter:
      disabled: [{name: "*"}]
"""
    )
    assert "ImageLocality=1" not in names["score"] and "NodeResourcesFit=5" in names["score"]
    assert names["postFilter"] == []
    assert "NodeResourcesFit" in names["filter"]


def test_profiles_percentage_backoff_and_plugin_args() -> None:
    config = load_config(
        HEADER
        + """
percentageOfNodesToScore: 30
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  percentageOfNodesToScore: 70
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
""",
        KNOWN,
    )
    assert [p.scheduler_name for p in config.profiles] == ["default-scheduler", "bin-packer"]
    assert (
        config.percentage_of_nodes_to_score,
        config.pod_initial_backoff_seconds,
        config.pod_max_backoff_seconds,
    ) == (
        30,
        2.0,
        20.0,
    )
    assert config.profiles[1].percentage_of_nodes_to_score == 70
    assert config.profiles[1].plugin_args["NodeResourcesFit"]["scoringStrategy"]["type"] == "MostAllocated"


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (
            "percentageOfNodesToScore: 110\n",
            ["percentageOfNodesToScore: Invalid value: 110: not in valid range [0-100]"],
        ),
        (
            "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n",
            [
                "podMaxBackoffSeconds: Invalid value: 2: "
                "must be greater than or equal to PodInitialBackoffSeconds"
            ],
        ),
        (
            "profiles:\n- schedulerName: a\n- schedulerName: a\n",
            ['profiles[1].schedulerName: Duplicate value: "a"'],
        ),
        ("profiles:\n- schedulerName: a\n- {}\n", ["profiles[1].schedulerName: Required value"]),
        (
            "profiles:\n- plugins:\n    filter:\n      enabled: [{name: Nope}]\n",
            [
                'profiles[0].plugins.filter.enabled[0].name: Invalid value: "Nope": '
                'plugin "Nope" does not exist'
            ],
        ),
        ("percentageOfNodesToScor: 10\n", ['strict decoding error: unknown field "percentageOfNodesToScor"']),
        (
            "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n"
            "    args: {scoringStrategy: {type: Fancy}}\n",
            [
                'profiles[0].pluginConfig[0].args.scoringStrategy.type: Unsupported value: "Fancy": '
                'supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"'
            ],
        ),
        (
            "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n"
            "    args: {hardPodAffinityWeight: 101}\n",
            [
                "profiles[0].pluginConfig[0].args.hardPodAffinityWeight: Invalid value: 101: "
                "not in valid range [0-100]"
            ],
        ),
        (
            "profiles:\n- schedulerName: a\n- schedulerName: b\n  plugins:\n    queueSort:\n"
            "      disabled: [{name: '*'}]\n",
            [
                "profiles[1].plugins.queueSort: Invalid value: ['', 'PrioritySort']: "
                "queueSort must be the same for all profiles"
            ],
        ),
    ],
)
def test_invalid_configurations_name_the_field(text: str, errors: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(HEADER + text, KNOWN)
    assert raised.value.errors == errors


def test_wrong_kind_or_version_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match='no kind "KubeSchedulerConfiguration" is registered for version "v1"'
    ):
        load_config("apiVersion: v1\nkind: KubeSchedulerConfiguration\n", KNOWN)


def test_all_errors_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(HEADER + "percentageOfNodesToScore: -1\npodInitialBackoffSeconds: 0\n", KNOWN)
    assert len(raised.value.errors) == 2 and str(raised.value).startswith("[")
