"""The committed object model is what the generator makes of the packaged definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

import api.model
from tinykube.devtools import k8s_model

MODEL = Path(api.model.__file__).parent


def test_committed_model_equals_the_generators_output() -> None:
    generated = k8s_model.generate()
    committed = {path.name: path.read_text(encoding="utf-8") for path in MODEL.glob("*.py")}
    assert sorted(committed) == sorted(generated)
    stale = [name for name, text in generated.items() if committed[name] != text]
    assert stale == [], "regenerate with `python -m tinykube.devtools.k8s_model`"


def test_generation_is_deterministic() -> None:
    assert k8s_model.generate() == k8s_model.generate()


def test_check_mode_reports_a_hand_edited_module(tmp_path: Path) -> None:
    assert k8s_model.main(["--out", str(tmp_path)]) == 0
    assert k8s_model.main(["--out", str(tmp_path), "--check"]) == 0
    edited = tmp_path / "core_v1.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert k8s_model.main(["--out", str(tmp_path), "--check"]) == 1


@pytest.mark.parametrize(
    ("json_name", "field_name"),
    [
        ("apiVersion", "api_version"),
        ("podIPs", "pod_ips"),
        ("hostIPC", "host_ipc"),
        ("setHostnameAsFQDN", "set_hostname_as_fqdn"),
        ("downwardAPI", "downward_api"),
        ("serverAddressByClientCIDRs", "server_address_by_client_cidrs"),
        ("TTLSecondsAfterFinished", "ttl_seconds_after_finished"),
        ("fieldsV1", "fields_v1"),
        ("openAPIV3Schema", "open_api_v3_schema"),
        ("$ref", "ref"),
        ("x-kubernetes-list-type", "x_kubernetes_list_type"),
        ("continue", "continue_"),
    ],
)
def test_field_names_are_snake_case_of_the_json_names(json_name: str, field_name: str) -> None:
    assert k8s_model.snake_case(json_name) == field_name


def test_kinds_resolve_to_their_classes() -> None:
    from api.model import apps_v1, core_v1

    assert api.model.kind_class("v1", "Pod") is core_v1.Pod
    assert api.model.kind_class("apps/v1", "Deployment") is apps_v1.Deployment
    assert (core_v1.Node.API_VERSION, core_v1.Node.KIND) == ("v1", "Node")
    with pytest.raises(KeyError):
        api.model.kind_class("v1", "Nonsense")
