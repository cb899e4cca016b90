"""The CRI client: endpoints as users write them, and errors as the server sent them."""

from __future__ import annotations

import pytest

from cri import errors
from cri.client import CRIClient, parse_endpoint


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("unix:///run/containerd/containerd.sock", "unix:///run/containerd/containerd.sock"),
        ("/run/tinykube/runc.sock", "unix:///run/tinykube/runc.sock"),
        ("tcp://127.0.0.1:9000", "127.0.0.1:9000"),
        ("127.0.0.1:9000", "127.0.0.1:9000"),
    ],
)
def test_endpoint_forms(text: str, target: str) -> None:
    assert parse_endpoint(text).target == target


@pytest.mark.parametrize("text", ["unix://relative.sock", "http://127.0.0.1:80", "runtime"])
def test_bad_endpoints_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        parse_endpoint(text)


async def test_an_absent_socket_is_unavailable_and_names_the_endpoint(tmp_path: object) -> None:
    with pytest.raises(errors.Unavailable, match=r"nothing-here\.sock"):
        await CRIClient.connect(f"unix://{tmp_path}/nothing-here.sock", connect_timeout=0.5)
