"""Memoised filter verdicts and scores place every pod where the plugins called directly place it."""

from __future__ import annotations

import random
from typing import Any

import pytest

from scheduler.framework.runtime import FilterPlan, Framework
from scheduler.plugins.inter_pod_affinity import InterPodAffinity
from tests.scheduler.builders import cluster_scheduler, node, pod, schedule_all


def _cluster(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    taints = [
        [],
        [{"key": "soft", "value": "x", "effect": "PreferNoSchedule"}],
        [{"key": "hard", "value": "y", "effect": "NoSchedule"}],
    ]
    nodes = [
        node(
            f"n{i}",
            cpu=str(rng.choice([2, 4, 8])),
            memory=f"{rng.choice([4, 8, 16])}Gi",
            taints=rng.choice(taints),
            images=[("app:1", 300 * 1024 * 1024)] if rng.random() < 0.3 else [],
            labels={"zone": f"z{i % 4}"},
        )
        for i in range(120)
    ]
    shapes = [("500m", "1Gi"), ("1", "512Mi"), (None, None), ("2", "2Gi")]
    pods = []
    for i in range(300):
        cpu, memory = rng.choice(shapes)
        tolerations = [{"key": "soft", "operator": "Exists"}] if rng.random() < 0.2 else []
        app = rng.choice(["web", "db", "cache"])
        spec = {"tolerations": tolerations, **rng.choice(_AFFINITIES)(app)}
        image = rng.choice(["app:1", "other:2"])
        pods.append(pod(f"p{i}", cpu, memory, image=image, labels={"app": app}, **spec))
    return nodes, pods


def _term(app: str, key: str) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}


_AFFINITIES = [
    lambda app: {},
    lambda app: {},
    lambda app: {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [_term(app, "kubernetes.io/hostname")]
            }
        }
    },
    lambda app: {
        "affinity": {
            "podAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 30, "podAffinityTerm": _term("db", "zone")}
                ]
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 60, "podAffinityTerm": _term(app, "kubernetes.io/hostname")}
                ]
            },
        }
    },
]


@pytest.mark.parametrize("seed", [1, 2])
async def test_memoised_and_direct_runs_make_the_same_placements(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes, pods = _cluster(seed)
    memo_cluster, memo_scheduler, _ = cluster_scheduler(nodes, pods, seed=seed)
    await schedule_all(memo_scheduler)
    monkeypatch.setattr(
        Framework, "filter_plan", lambda self, state, pod: FilterPlan(None, [], self.filter_plugins(state))
    )
    monkeypatch.setattr(Framework, "_score_signature", lambda self, state, pod, plugin: None)
    monkeypatch.setattr(InterPodAffinity, "_memo", lambda self: False)
    direct_cluster, direct_scheduler, _ = cluster_scheduler(nodes, pods, seed=seed)
    await schedule_all(direct_scheduler)
    placements = {key: memo_cluster.node_of(key) for key in memo_cluster.pods}
    assert placements == {key: direct_cluster.node_of(key) for key in direct_cluster.pods}
    assert sum(1 for node_name in placements.values() if node_name) > 200
