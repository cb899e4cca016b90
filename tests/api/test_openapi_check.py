"""Documents users write are checked against the definitions before the model decodes them."""

from __future__ import annotations

from api.meta.errors import ErrorType
from api.openapi.check import check

POD = "io.k8s.api.core.v1.Pod"


def _pod(container: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container]}}


def test_a_valid_pod_has_no_findings() -> None:
    result = check(
        POD, _pod({"name": "c", "image": "i", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}})
    )
    assert (result.errors, result.unknown_fields) == ([], [])


def test_wrong_types_are_named_by_path() -> None:
    result = check(
        POD, _pod({"name": "c", "ports": [{"containerPort": "eighty"}], "tty": "yes", "args": "x"})
    )
    found = {(e.field, e.type, e.detail) for e in result.errors}
    assert found == {
        ("spec.containers[0].ports[0].containerPort", ErrorType.TYPE_INVALID, "must be of type int"),
        ("spec.containers[0].tty", ErrorType.TYPE_INVALID, "must be of type bool"),
        ("spec.containers[0].args", ErrorType.TYPE_INVALID, "must be a list"),
    }


def test_int_or_string_and_quantity_take_either_form() -> None:
    probe = {"httpGet": {"port": "http"}, "tcpSocket": {"port": 80}}
    assert check(POD, _pod({"name": "c", "livenessProbe": probe})).errors == []
    [error] = check(POD, _pod({"name": "c", "livenessProbe": {"tcpSocket": {"port": True}}})).errors
    assert (error.field, error.detail) == (
        "spec.containers[0].livenessProbe.tcpSocket.port",
        "must be of type string or int",
    )


def test_missing_required_fields_are_required_values() -> None:
    result = check(POD, _pod({"image": "i", "ports": [{"name": "http"}]}))
    assert sorted((e.field, e.type) for e in result.errors) == [
        ("spec.containers[0].name", ErrorType.REQUIRED),
        ("spec.containers[0].ports[0].containerPort", ErrorType.REQUIRED),
    ]


def test_unknown_fields_are_listed_not_errors() -> None:
    result = check(POD, {**_pod({"name": "c", "imagePullPolicyy": "Always"}), "extra": 1})
    assert result.errors == []
    assert result.unknown_fields == ["spec.containers[0].imagePullPolicyy", "extra"]


def test_nulls_are_absent_values() -> None:
    assert check(POD, {**_pod({"name": "c", "image": None}), "status": None}).errors == []
