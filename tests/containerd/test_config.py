"""The containerd shim's config file: defaults that work against the services' containerd, and every
mistake named by its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from shims.backends import BackendConfigError
from shims.containerd.config import load_config


def test_defaults_drive_the_services_containerd_in_a_namespace_of_our_own() -> None:
    config = load_config(None)
    assert config.containerd_address == Path("/run/containerd/containerd.sock")
    assert config.namespace == "tinykube"
    assert (config.snapshotter, config.runtime) == ("overlayfs", "io.containerd.runc.v2")
    assert config.sandbox_image == "registry.k8s.io/pause:3.10"


def test_a_file_sets_paths_lists_and_names(tmp_path: Path) -> None:
    file = tmp_path / "shim.yaml"
    file.write_text(
        "containerd_address: /run/other/containerd.sock\n"
        "namespace: tinykube-ci\n"
        "cni_bin_dirs: [/opt/cni/bin]\n"
        "streaming_address: 127.0.0.1:10010\n"
    )
    config = load_config(file)
    assert config.containerd_address == Path("/run/other/containerd.sock")
    assert config.namespace == "tinykube-ci"
    assert config.cni_bin_dirs == (Path("/opt/cni/bin"),)
    assert config.streaming_address == "127.0.0.1:10010"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("namespace: k8s.io\n", "namespace: 'k8s.io' belongs to containerd's built-in CRI"),
        ("namespace: 'no spaces'\n", "namespace: 'no spaces' is not a valid containerd namespace"),
        ("snapshoter: overlayfs\n", "unknown setting\\(s\\): snapshoter"),
        ("cni_bin_dirs: /usr/lib/cni\n", "cni_bin_dirs: expected a list"),
        ("streaming_address: localhost\n", "streaming_address: 'localhost' is not HOST:PORT"),
        ("cgroup_parent: tinykube\n", "cgroup_parent: 'tinykube' must be an absolute cgroup path"),
        ("- a list\n", "the top level must be a mapping"),
    ],
)
def test_mistakes_are_named_by_their_field(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "shim.yaml"
    file.write_text(text)
    with pytest.raises(BackendConfigError, match=message):
        load_config(file)
