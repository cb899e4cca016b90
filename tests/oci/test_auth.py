from __future__ import annotations

import base64

import pytest

from cri import domain as d
from cri.errors import InvalidArgument
from shims.oci.auth import Credentials, credentials_from, parse_challenge


def test_auth_field_is_base64_user_colon_password() -> None:
    encoded = base64.b64encode(b"alice:s3cr:et").decode()
    assert credentials_from(d.AuthConfig(auth=encoded)) == Credentials(username="alice", password="s3cr:et")


def test_explicit_username_wins_and_empty_auth_means_anonymous() -> None:
    found = credentials_from(d.AuthConfig(username="bob", password="pw", auth="ignored"))
    assert found == Credentials(username="bob", password="pw")
    assert credentials_from(d.AuthConfig()) is None
    assert credentials_from(None) is None


def test_malformed_auth_field_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match=r"auth\.auth"):
        credentials_from(d.AuthConfig(auth="%%%"))
    with pytest.raises(InvalidArgument, match=r"auth\.auth"):
        credentials_from(d.AuthConfig(auth=base64.b64encode(b"no-colon").decode()))


def test_bearer_challenge_parameters() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'
    )
    assert (challenge.scheme, challenge.realm, challenge.service, challenge.scope) == (
        "bearer", "https://auth.example/token", "registry.example", "repository:a/b:pull",
    )  # fmt: skip
    assert parse_challenge('Basic realm="tinykube"').scheme == "basic"
