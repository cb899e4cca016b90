"""Kubeconfig resolution: server, credentials and namespace of a context; errors naming the problem."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.client.kubeconfig import KubeconfigError, load_kubeconfig


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))
    return path


def kubeconfig(
    *, cluster: dict[str, Any], user: dict[str, Any], namespace: str | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {"cluster": "c", "user": "u"} | ({"namespace": namespace} if namespace else {})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "ctx",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "ctx", "context": context},
            {"name": "other", "context": {"cluster": "missing"}},
        ],
    }


def test_inline_data_and_token_are_decoded(tmp_path: Path) -> None:
    ca = base64.b64encode(b"CA PEM").decode()
    path = write(
        tmp_path,
        kubeconfig(
            cluster={"server": "https://127.0.0.1:6443/", "certificate-authority-data": ca},
            user={"token": "secret"},
            namespace="team",
        ),
    )
    config = load_kubeconfig(path)
    assert config.server == "https://127.0.0.1:6443"
    assert config.certificate_authority is not None and config.certificate_authority.pem == b"CA PEM"
    assert config.token == "secret"
    assert config.namespace == "team"


def test_files_are_read_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "admin.crt").write_bytes(b"CERT")
    (tmp_path / "admin.key").write_bytes(b"KEY")
    (tmp_path / "token").write_text("tok\n")
    user = {"client-certificate": "admin.crt", "client-key": "admin.key", "tokenFile": "token"}
    path = write(
        tmp_path, kubeconfig(cluster={"server": "https://h", "certificate-authority": "ca.crt"}, user=user)
    )
    config = load_kubeconfig(path)
    assert config.client_certificate is not None and config.client_certificate.pem == b"CERT"
    assert config.client_key is not None and config.client_key.pem == b"KEY"
    assert config.token == "tok"
    assert config.namespace == "default"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("current-context"), "current-context is not set"),
        (
            lambda d: d["contexts"][0]["context"].update(cluster="nope"),
            'cluster "nope" not found in clusters',
        ),
        (lambda d: d["clusters"][0]["cluster"].pop("server"), 'cluster "c" has no server'),
        (lambda d: d["users"][0]["user"].update({"client-certificate-data": "!!"}), "not valid base64"),
        (
            lambda d: d["users"][0]["user"].update({"client-key": "/nonexistent/key"}),
            "client-key /nonexistent/key",
        ),
        (
            lambda d: d["users"][0]["user"].update(
                {"client-certificate-data": base64.b64encode(b"x").decode()}
            ),
            "has no client-key",
        ),
    ],
)
def test_errors_name_the_file_and_the_problem(tmp_path: Path, change: Any, problem: str) -> None:
    document = kubeconfig(cluster={"server": "https://h"}, user={})
    change(document)
    path = write(tmp_path, document)
    with pytest.raises(KubeconfigError, match=str(path)) as raised:
        load_kubeconfig(path)
    assert problem in str(raised.value)


def test_a_named_context_is_used_instead_of_the_current_one(tmp_path: Path) -> None:
    path = write(tmp_path, kubeconfig(cluster={"server": "https://h"}, user={}))
    with pytest.raises(KubeconfigError, match='cluster "missing" not found'):
        load_kubeconfig(path, context="other")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="cannot be read"):
        load_kubeconfig(tmp_path / "absent")
