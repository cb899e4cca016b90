"""KubeletConfiguration files with flag overrides, and precise errors for bad ones."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kubelet.config import ConfigError, add_flags, apply_flags, load_config, parse_duration


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return parser.parse_args(list(argv))


def test_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "kubelet.yaml"
    path.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "staticPodPath: /etc/pods\nport: 10255\nclusterDNS: [10.96.0.10]\nclusterDomain: cluster.local\n"
        "containerLogMaxSize: 5Mi\nfileCheckFrequency: 1s\n"
    )
    config = load_config(path)
    assert (config.static_pod_path, config.port, config.cluster_dns) == ("/etc/pods", 10255, ("10.96.0.10",))
    assert config.container_log_max_bytes == 5 * 2**20 and config.file_check_frequency_s == 1.0
    overridden = apply_flags(config, _parse("--port", "10260", "--cluster-dns", "10.0.0.10,10.0.0.11"))
    assert overridden.port == 10260 and overridden.cluster_dns == ("10.0.0.10", "10.0.0.11")
    assert overridden.static_pod_path == "/etc/pods"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Pod\n", "kind must be KubeletConfiguration"),
        ("port: high\n", "port: Invalid value"),
        ("syncFrequency: soon\n", "invalid duration 'soon'"),
        ("cgroupDriver: cgroupfs2\n", "cgroupDriver must be cgroupfs or systemd"),
        ("containerLogMaxSize: big\n", "containerLogMaxSize 'big'"),
        ("minimumContainerTtlDuration: a while\n", "invalid duration 'a while'"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kubelet.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_durations() -> None:
    assert parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5 and parse_duration("2h") == 7200


def test_container_gc_settings_take_the_kubelets_flag_names() -> None:
    config = apply_flags(
        load_config(None),
        _parse(
            "--maximum-dead-containers-per-container", "3",
            "--maximum-dead-containers", "100",
            "--minimum-container-ttl-duration", "1m",
        ),
    )  # fmt: skip
    assert config.maximum_dead_containers_per_container == 3 and config.maximum_dead_containers == 100
    assert config.minimum_container_ttl_s == 60.0
    defaults = load_config(None)
    assert (defaults.maximum_dead_containers_per_container, defaults.maximum_dead_containers) == (1, -1)
