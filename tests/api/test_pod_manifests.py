"""Pods read from manifests as users write them: docs examples load, bad ones are reported like a 422."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from kubernetes.client import ApiClient, V1Pod

from api.core.v1.manifest import ManifestError, load_pod, pod_to_dict
from api.core.v1.pods import init_containers, pod_meta, pod_name, pod_spec
from api.meta.errors import InvalidObjectError

EXAMPLES = sorted((Path(__file__).parent / "docs_examples").iterdir())


def _official_client_pod(body: object) -> V1Pod:
    pod = ApiClient().deserialize(json.dumps(body), "V1Pod", "application/json")
    assert isinstance(pod, V1Pod)
    return pod


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_documentation_examples_load_unchanged_and_round_trip(path: Path) -> None:
    decoded = load_pod(path.read_text())
    assert decoded.unknown_fields == ()
    written = pod_to_dict(decoded.pod)
    assert load_pod(json.dumps(written)).pod == decoded.pod
    official = _official_client_pod(written)
    assert official.metadata is not None
    assert official.spec is not None
    assert official.metadata.name == pod_name(decoded.pod)
    assert [c.image for c in official.spec.containers] == [c.image for c in pod_spec(decoded.pod).containers]


def test_defaults_follow_the_apiserver() -> None:
    pod = load_pod((Path(__file__).parent / "docs_examples" / "exec-liveness.yaml").read_text()).pod
    container = pod_spec(pod).containers[0]
    assert pod_meta(pod).namespace == "default"
    assert pod_spec(pod).restart_policy == "Always"
    assert pod_spec(pod).termination_grace_period_seconds == 30
    assert pod_spec(pod).dns_policy == "ClusterFirst"
    assert container.image_pull_policy == "IfNotPresent"
    assert container.termination_message_path == "/dev/termination-log"
    probe = container.liveness_probe
    assert probe is not None
    assert (
        probe.timeout_seconds,
        probe.period_seconds,
        probe.success_threshold,
        probe.failure_threshold,
    ) == (
        1,
        5,
        1,
        3,
    )


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("localhost:5000/busybox", "Always"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_defaults_from_the_tag(image: str, policy: str) -> None:
    pod = load_pod(json.dumps(_pod(containers=[{"name": "c", "image": image}]))).pod
    assert pod_spec(pod).containers[0].image_pull_policy == policy


def _pod(**spec: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _causes(document: Mapping[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidObjectError) as caught:
        load_pod(json.dumps(document))
    status = caught.value.status()
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    return [(c["field"], c["reason"]) for c in status["details"]["causes"]]


def test_every_problem_is_reported_with_its_field_path() -> None:
    document = _pod(
        restartPolicy="Sometimes",
        containers=[
            {"name": "web", "ports": [{"containerPort": 70000}]},
            {"name": "web", "image": "x", "volumeMounts": [{"name": "missing", "mountPath": "/m"}]},
        ],
    )
    assert sorted(_causes(document)) == sorted(
        [
            ("spec.containers[0].image", "FieldValueRequired"),
            ("spec.containers[0].ports[0].containerPort", "FieldValueInvalid"),
            ("spec.containers[1].name", "FieldValueDuplicate"),
            ("spec.containers[1].volumeMounts[0].name", "FieldValueNotFound"),
            ("spec.restartPolicy", "FieldValueNotSupported"),
        ]
    )


def test_message_reads_like_the_apiservers() -> None:
    with pytest.raises(InvalidObjectError) as caught:
        load_pod(json.dumps(_pod(containers=[{"name": "c"}])))
    assert str(caught.value) == 'Pod "p" is invalid: spec.containers[0].image: Required value'


def test_bad_name_and_wrong_types() -> None:
    document = _pod(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": "eighty"}]}])
    document["metadata"] = {"name": "Not_Valid"}
    assert _causes(document) == [("spec.containers[0].ports[0].containerPort", "FieldValueTypeInvalid")]
    document["spec"] = {"containers": [{"name": "c", "image": "i"}]}
    assert _causes(document) == [("metadata.name", "FieldValueInvalid")]


def test_probe_and_volume_rules() -> None:
    document = _pod(
        volumes=[
            {"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}},
            {"name": "h", "hostPath": {"path": "/y", "type": "Dir"}},
        ],
        initContainers=[{"name": "i", "image": "x", "livenessProbe": {"exec": {"command": ["true"]}}}],
        containers=[
            {
                "name": "c",
                "image": "x",
                "livenessProbe": {"periodSeconds": 3},
                "readinessProbe": {"tcpSocket": {"port": 8080}, "httpGet": {"port": 80}},
                "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1", "memory": "lots"}},
            }
        ],
    )
    assert sorted(_causes(document)) == sorted(
        [
            ("spec.volumes[0]", "FieldValueForbidden"),
            ("spec.volumes[1].hostPath.type", "FieldValueNotSupported"),
            ("spec.initContainers[0].livenessProbe", "FieldValueForbidden"),
            ("spec.containers[0].livenessProbe", "FieldValueRequired"),
            ("spec.containers[0].readinessProbe", "FieldValueForbidden"),
            ("spec.containers[0].resources.limits[memory]", "FieldValueInvalid"),
        ]
    )


def test_sidecar_init_container_may_have_probes() -> None:
    document = _pod(
        initContainers=[
            {
                "name": "s",
                "image": "x",
                "restartPolicy": "Always",
                "readinessProbe": {"exec": {"command": ["true"]}},
            }
        ],
        containers=[{"name": "c", "image": "x"}],
    )
    assert init_containers(load_pod(json.dumps(document)).pod)[0].restart_policy == "Always"


def test_unknown_fields_are_named_not_fatal() -> None:
    document = _pod(containers=[{"name": "c", "image": "x", "imagePullPolicyy": "Always"}])
    assert load_pod(json.dumps(document)).unknown_fields == ("spec.containers[0].imagePullPolicyy",)


@pytest.mark.parametrize("text", ["a: [unclosed", "- just\n- a list\n", "42"])
def test_not_an_object_is_a_manifest_error(text: str) -> None:
    with pytest.raises(ManifestError):
        load_pod(text)


def test_kind_and_api_version_are_checked() -> None:
    document = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}
    assert sorted(_causes(document)) == [
        ("apiVersion", "FieldValueInvalid"),
        ("kind", "FieldValueNotSupported"),
    ]
