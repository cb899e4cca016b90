"""Registry authentication: Basic and Bearer-token challenges, credentials from CRI ``AuthConfig``."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cri import domain as d
from cri.errors import FailedPrecondition, InvalidArgument

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class AuthenticationFailed(FailedPrecondition):
    """The registry refused our credentials (or wanted some and we had none)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Credentials:
    username: str = ""
    password: str = ""
    registry_token: str = ""
    identity_token: str = ""

    @property
    def basic_header(self) -> str:
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    @property
    def has_basic(self) -> bool:
        return bool(self.username)


@dataclass(frozen=True, kw_only=True, slots=True)
class Challenge:
    scheme: str
    realm: str = ""
    service: str = ""
    scope: str = ""


def credentials_from(auth: d.AuthConfig | None) -> Credentials | None:
    """CRI AuthConfig -> Credentials; ``auth`` is base64 ``user:password`` as in docker's config."""
    if auth is None:
        return None
    username, password = auth.username, auth.password
    if auth.auth and not username:
        try:
            username, colon, password = base64.b64decode(auth.auth, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument("auth.auth is not base64 of 'username:password'") from None
        if not colon:
            raise InvalidArgument("auth.auth is not base64 of 'username:password'")
    found = Credentials(
        username=username, password=password,
        registry_token=auth.registry_token, identity_token=auth.identity_token,
    )  # fmt: skip
    return found if found != Credentials() else None


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    params = dict(_CHALLENGE_PARAM.findall(rest))
    return Challenge(
        scheme=scheme.lower(), realm=params.get("realm", ""),
        service=params.get("service", ""), scope=params.get("scope", ""),
    )  # fmt: skip
