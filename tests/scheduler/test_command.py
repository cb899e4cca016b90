"""`tinykube scheduler`: configuration mistakes are reported in one line, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykube.commands import scheduler as command

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_an_invalid_configuration_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    (tmp_path / "config.yaml").write_text(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
        "percentageOfNodesToScore: 101\n"
    )
    status = command.main(
        ["--kubeconfig", str(tmp_path / "kubeconfig"), "--config", str(tmp_path / "config.yaml")]
    )
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "tinykube scheduler: percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]"
    )


def test_a_missing_kubeconfig_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--kubeconfig", str(tmp_path / "absent")]) == 2
    assert "absent" in capsys.readouterr().err


def test_a_non_loopback_health_address_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    status = command.main(["--kubeconfig", str(tmp_path / "kubeconfig"), "--bind-address", "0.0.0.0"])
    assert status == 2
    assert "only loopback addresses are served" in capsys.readouterr().err
