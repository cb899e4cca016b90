"""Objects read into the model and written back are the JSON they came from (nulls dropped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.model import apps_v1, core_v1
from tests.api.official_client import fully_populated

TESTS = Path(__file__).parents[1]
MANIFESTS = sorted(
    [*(TESTS / "api" / "docs_examples").iterdir(), *(TESTS / "kubelet" / "manifests").iterdir()]
)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_manifests_round_trip(path: Path) -> None:
    manifest = yaml.safe_load(path.read_text())
    assert core_v1.Pod.from_dict(manifest).to_dict() == _without_nulls(manifest)


@pytest.mark.parametrize(
    ("model", "client_type", "definition"),
    [
        (core_v1.Pod, "V1Pod", "io.k8s.api.core.v1.Pod"),
        (apps_v1.Deployment, "V1Deployment", "io.k8s.api.apps.v1.Deployment"),
        (core_v1.Node, "V1Node", "io.k8s.api.core.v1.Node"),
    ],
)
def test_official_clients_fully_populated_objects_round_trip(
    model: type[core_v1.Pod | apps_v1.Deployment | core_v1.Node], client_type: str, definition: str
) -> None:
    body = fully_populated(client_type, definition)
    decoded = model.from_dict(body)
    assert decoded.to_dict() == _without_nulls(body)
    assert json.loads(json.dumps(decoded.to_dict())) == body


def test_every_field_of_the_populated_pod_is_typed() -> None:
    pod = core_v1.Pod.from_dict(fully_populated("V1Pod", "io.k8s.api.core.v1.Pod"))
    assert pod.spec is not None
    affinity = pod.spec.affinity
    assert affinity is not None and affinity.node_affinity is not None
    selector = affinity.node_affinity.required_during_scheduling_ignored_during_execution
    assert selector is not None
    assert selector.node_selector_terms[0].match_expressions is not None
    container = pod.spec.containers[0]
    assert container.resources is not None
    assert container.resources.limits == {"key": "text"}


def test_yaml_numbers_for_quantities_read_as_strings() -> None:
    requirements = core_v1.ResourceRequirements.from_dict({"limits": {"cpu": 1, "memory": 0.5}})
    assert requirements.limits == {"cpu": "1", "memory": "0.5"}


def test_unknown_fields_are_dropped() -> None:
    pod = core_v1.Pod.from_dict({"kind": "Pod", "spec": {"containers": [], "bogus": 1}, "extra": {}})
    assert pod.to_dict() == {"kind": "Pod", "spec": {"containers": []}}


def test_model_objects_are_frozen() -> None:
    port = core_v1.ContainerPort(container_port=80)
    with pytest.raises(AttributeError):
        port.container_port = 81  # type: ignore[misc]
