"""Image references, parsed and normalised the way containerd and the kubelet do.

``busybox`` -> ``docker.io/library/busybox:latest``; ``host:port/repo:tag``; ``repo@sha256:<hex>``;
``repo:tag@sha256:<hex>`` (the digest wins when pulling; the tag is kept for naming).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cri.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPOSITORY_PREFIX = "library/"
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?"
)
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_SHA256_HEX = re.compile(r"[a-f0-9]{64}")


class InvalidReference(InvalidArgument):
    """A malformed image reference (INVALID_ARGUMENT at the CRI edge)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """``docker.io/library/busybox``: the name repo tags and repo digests are built on."""
        return f"{self.domain}/{self.path}"

    @property
    def object(self) -> str:
        """What the registry's manifests endpoint is asked for: the digest if known, else the tag."""
        return self.digest or self.tag

    def with_digest(self, digest: str) -> Reference:
        return Reference(domain=self.domain, path=self.path, tag=self.tag, digest=digest)

    @property
    def tagged(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else ""

    @property
    def digested(self) -> str:
        return f"{self.repository}@{self.digest}" if self.digest else ""

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def validate_digest(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    if not _DIGEST.fullmatch(digest):
        raise InvalidReference(f"invalid digest {digest!r}: want <algorithm>:<hex>")
    if algorithm == "sha256" and not _SHA256_HEX.fullmatch(encoded):
        raise InvalidReference(f"invalid digest {digest!r}: sha256 wants 64 lowercase hex digits")
    if algorithm != "sha256":
        raise InvalidReference(f"unsupported digest algorithm {algorithm!r} in {digest!r}")
    return digest


def parse(text: str) -> Reference:
    """Parse and normalise ``text``; raises InvalidReference naming what is wrong."""
    if not text:
        raise InvalidReference("image reference is empty")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidReference(f"invalid image reference {text!r}: contains whitespace")
    if _SHA256_HEX.fullmatch(text):
        raise InvalidReference(f"invalid image reference {text!r}: a bare 64-hex string is an id, not a name")
    name, at, digest = text.partition("@")
    if at:
        validate_digest(digest)
    name, tag = _split_tag(name)
    domain, path = _split_domain(name)
    _validate_path(path, text)
    if len(f"{domain}/{path}") > MAX_NAME_LENGTH:
        raise InvalidReference(f"invalid image reference {text!r}: name longer than {MAX_NAME_LENGTH}")
    if not tag and not digest:
        tag = DEFAULT_TAG
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def normalize(text: str) -> str:
    return str(parse(text))


def _split_tag(name: str) -> tuple[str, str]:
    head, slash, last = name.rpartition("/")
    repo, colon, tag = last.partition(":")
    if not colon:
        return name, ""
    if not _TAG.fullmatch(tag):
        raise InvalidReference(f"invalid tag {tag!r} in image reference {name!r}")
    return f"{head}{slash}{repo}", tag


def _split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.fullmatch(first):
            raise InvalidReference(f"invalid registry host {first!r} in image reference {name!r}")
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and path and "/" not in path:
        path = OFFICIAL_REPOSITORY_PREFIX + path
    return domain, path


def _validate_path(path: str, text: str) -> None:
    if not path:
        raise InvalidReference(f"invalid image reference {text!r}: repository name is empty")
    for component in path.split("/"):
        if component != component.lower():
            raise InvalidReference(f"invalid image reference {text!r}: repository name must be lowercase")
        if not _PATH_COMPONENT.fullmatch(component):
            raise InvalidReference(f"invalid image reference {text!r}: bad path component {component!r}")
