"""The critest-shaped requests and critest's CRI log parser the critest checks rely on."""

from __future__ import annotations

import pytest

from conformance import images
from conformance.checks import critest_requests as ct
from conformance.pod import RUN_LABEL
from conformance.workspace import Workspace


@pytest.fixture
def ws() -> Workspace:
    return Workspace(cri=None, run_id="run-1")  # type: ignore[arg-type]  # builders never call the runtime


def test_log_lines_parse_as_critest_does() -> None:
    text = (
        "2016-10-06T00:17:09.669794202Z stdout P The content of the log entry 1\n"
        "2016-10-06T00:17:10.113242941+02:00 stderr F two  spaces kept\n"
        "2016-10-06T00:17:10Z stdout F \n"
    )
    records = ct.parse_cri_log(text)
    assert [(r.stream, r.log) for r in records] == [
        ("stdout", "The content of the log entry 1\n"),
        ("stderr", "two  spaces kept\n"),
        ("stdout", "\n"),
    ]


@pytest.mark.parametrize(
    "line",
    ["2016-10-06 00:17:09Z stdout F x", "2016-10-06T00:17:09.669794202Z stdout", "hello World"],
)
def test_malformed_log_lines_are_rejected(line: str) -> None:
    with pytest.raises(AssertionError):
        ct.parse_cri_log(line + "\n")


def test_pod_config_is_critest_default(ws: Workspace) -> None:
    config = ct.pod_config(ws)
    meta, linux = config.metadata, config.linux
    assert meta is not None and meta.attempt == ct.ATTEMPT
    assert meta.name.startswith("create-PodSandbox-for-container-") and len(meta.name) == 68
    assert meta.uid.startswith("cri-test-uid") and meta.namespace.startswith("cri-test-namespace")
    assert config.hostname == "" and config.log_directory == "" and config.labels[RUN_LABEL] == "run-1"
    assert linux is not None and linux.security_context is None and linux.cgroup_parent == ""


def test_container_config_is_critest_default(ws: Workspace) -> None:
    config = ct.container_config(ws)
    image = config.image
    assert image is not None and image.image == image.user_specified_image == images.E2E_BUSYBOX
    assert config.command == ("top",) and config.log_path == ""
    assert config.linux is not None and config.linux.security_context is None
    assert config.metadata is not None and config.metadata.attempt == ct.ATTEMPT
