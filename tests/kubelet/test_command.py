"""`tinykube kubelet`: configuration problems are reported in one line, with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykube.commands.kubelet import main


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert f"cannot read {tmp_path / 'nope.yaml'}" in capsys.readouterr().err


def test_bad_flag_value_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sync-frequency", "often"]) == 2
    assert "invalid duration 'often'" in capsys.readouterr().err


def test_unreachable_runtime_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kubelet.yaml"
    config.write_text(
        f"containerRuntimeEndpoint: unix://{tmp_path / 'missing.sock'}\nrootDir: {tmp_path / 'root'}\n"
        f"staticPodPath: {tmp_path}\nport: 1\n"
    )
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    socket = tmp_path / "missing.sock"
    expected = f"tinykube kubelet: container runtime socket {socket} does not exist (is the runtime running?)"
    assert err == [expected]


def test_unreadable_token_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kubelet.yaml"
    config.write_text(f"authenticationTokenFile: {tmp_path / 'token'}\nstaticPodPath: {tmp_path}\n")
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    missing = tmp_path / "token"
    expected = f"tinykube kubelet: authenticationTokenFile: cannot read {missing}: No such file or directory"
    assert err == [expected]


def test_unreadable_kubeconfig_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kubelet.yaml"
    config.write_text(f"staticPodPath: {tmp_path}\n")
    assert main(["--config", str(config), "--kubeconfig", str(tmp_path / "kubeconfig")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("tinykube kubelet: ") and str(tmp_path / "kubeconfig") in line
