from __future__ import annotations

from pathlib import Path

import pytest

from cri.errors import InvalidArgument
from shims.oci.hosts import endpoints_for, write_mirror


def test_without_hosts_toml_the_upstream_is_used_and_loopback_is_plain_http(tmp_path: Path) -> None:
    (docker,) = endpoints_for("docker.io", certs_d=tmp_path)
    assert docker.base_url == "https://registry-1.docker.io/v2"
    (local,) = endpoints_for("127.0.0.1:5000", certs_d=None)
    assert local.base_url == "http://127.0.0.1:5000/v2" and local.plain_http
    (other,) = endpoints_for("quay.io", certs_d=None)
    assert other.base_url == "https://quay.io/v2"


def test_configured_insecure_hosts_use_plain_http() -> None:
    (endpoint,) = endpoints_for("registry.example:5000", certs_d=None, insecure=("registry.example:5000",))
    assert endpoint.base_url == "http://registry.example:5000/v2"


def test_mirrors_come_first_in_file_order_then_the_server(tmp_path: Path) -> None:
    (tmp_path / "registry.k8s.io").mkdir()
    (tmp_path / "registry.k8s.io" / "hosts.toml").write_text(
        'server = "https://registry.k8s.io"\n'
        '[host."http://127.0.0.1:6000"]\n  capabilities = ["pull"]\n'
        '[host."https://mirror.example/base"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n'
        '[host."https://raw.example/v2/prefix"]\n  override_path = true\n'
    )
    found = endpoints_for("registry.k8s.io", certs_d=tmp_path)
    assert [e.base_url for e in found] == [
        "http://127.0.0.1:6000/v2",
        "https://mirror.example/base/v2",
        "https://raw.example/v2/prefix",
        "https://registry.k8s.io/v2",
    ]
    assert found[0].capabilities == {"pull"}
    assert found[1].skip_verify and not found[0].skip_verify
    assert found[3].capabilities == {"pull", "resolve", "push"}


def test_write_mirror_is_idempotent_and_read_back(tmp_path: Path) -> None:
    assert write_mirror(tmp_path, host="docker.io", mirror_url="http://127.0.0.1:5000")
    assert not write_mirror(tmp_path, host="docker.io", mirror_url="http://127.0.0.1:5000")
    mirror, upstream = endpoints_for("docker.io", certs_d=tmp_path)
    assert mirror.base_url == "http://127.0.0.1:5000/v2"
    assert mirror.capabilities == {"pull", "resolve"}
    assert upstream.base_url == "https://registry-1.docker.io/v2"


def test_a_broken_hosts_toml_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "docker.io").mkdir()
    (tmp_path / "docker.io" / "hosts.toml").write_text("server = \n")
    with pytest.raises(InvalidArgument, match=r"hosts\.toml"):
        endpoints_for("docker.io", certs_d=tmp_path)
