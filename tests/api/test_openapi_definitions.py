"""The packaged Kubernetes definitions load without ../shared and convert to OpenAPI v2."""

import json

from api import openapi


def test_the_pod_definition_is_packaged_with_its_kind() -> None:
    pod = openapi.definition("io.k8s.api.core.v1.Pod")
    assert pod["properties"]["spec"]["$ref"] == "#/$defs/io.k8s.api.core.v1.PodSpec"
    assert openapi.group_version_kinds("io.k8s.api.core.v1.Pod") == [
        {"group": "", "kind": "Pod", "version": "v1"}
    ]


def test_openapi_v2_form_has_no_nullable_types_and_v2_refs() -> None:
    converted = openapi.openapi_v2_definitions()
    text = json.dumps(converted)
    assert "#/$defs/" not in text
    assert '"null"' not in text
    spec = converted["io.k8s.api.core.v1.Pod"]["properties"]["spec"]
    assert spec["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec"


def test_an_unknown_definition_is_a_key_error() -> None:
    try:
        openapi.definition("io.k8s.api.core.v1.NoSuchKind")
    except KeyError as error:
        assert "NoSuchKind" in str(error)
    else:
        raise AssertionError("an unknown definition was returned")
