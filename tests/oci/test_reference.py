from __future__ import annotations

import pytest

from cri.errors import InvalidArgument
from shims.oci.reference import normalize, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("someone/app:v2", "docker.io/someone/app:v2"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox:1.36@{DIGEST}", f"docker.io/library/busybox:1.36@{DIGEST}"),
        ("a.b-c/x__y.z-w:T_1.2-3", "a.b-c/x__y.z-w:T_1.2-3"),
    ],
)
def test_references_normalise_like_containerd(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_parts_of_a_reference() -> None:
    ref = parse(f"127.0.0.1:5000/team/app:v1@{DIGEST}")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("127.0.0.1:5000", "team/app", "v1", DIGEST)
    assert ref.repository == "127.0.0.1:5000/team/app"
    assert ref.object == DIGEST
    assert parse("busybox").object == "latest"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        (" busybox", "whitespace"),
        ("Busybox", "lowercase"),
        ("busybox:", "tag"),
        ("busybox:-bad", "tag"),
        ("busybox@sha256:abc", "64"),
        ("busybox@md5:" + "a" * 32, "algorithm"),
        ("ab" * 32, "id"),
        ("a//b", "path component"),
        ("docker.io/", "empty"),
        ("-host.io/app", "registry host"),
        ("x/" + "a" * 300, "longer"),
    ],
)
def test_malformed_references_are_invalid_argument_naming_the_problem(text: str, complaint: str) -> None:
    with pytest.raises(InvalidArgument, match=complaint):
        parse(text)
