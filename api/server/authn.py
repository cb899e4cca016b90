"""Authentication: x509 client certificates (CN = user, O = groups) and bearer tokens from a token
file (kube-apiserver's --token-auth-file CSV: token,user,uid,"group1,group2")."""

from __future__ import annotations

import csv
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass(frozen=True)
class User:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"username": self.name, "groups": [*self.groups, "system:authenticated"]}
        if self.uid:
            info["uid"] = self.uid
        return info


class Authorizer(Protocol):
    """The seam RBAC will fill; today every authenticated user may do everything."""

    def allowed(self, user: User, verb: str, resource: str, namespace: str) -> bool: ...


class AllowAuthenticated:
    def allowed(self, user: User, verb: str, resource: str, namespace: str) -> bool:
        return True


def load_tokens(path: Path | None) -> dict[str, User]:
    if path is None:
        return {}
    tokens: dict[str, User] = {}
    with path.open(newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or row[0].startswith("#"):
                continue
            groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
            tokens[row[0].strip()] = User(row[1].strip(), row[2].strip() if len(row) > 2 else "", groups)
    return tokens


def _from_certificate(peer: dict[str, Any] | None) -> User | None:
    if not peer:
        return None
    common, organizations = "", []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                common = value
            elif key == "organizationName":
                organizations.append(value)
    return User(common, "", tuple(organizations)) if common else None


class Authenticator:
    def __init__(self, tokens: dict[str, User]) -> None:
        self._tokens = tokens

    def authenticate(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
            for token, user in self._tokens.items():
                if hmac.compare_digest(token, given):
                    return user
            return None
        transport = request.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        return _from_certificate(ssl_object.getpeercert() if ssl_object else None)


def is_anonymous_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ANONYMOUS_PATHS)


USER = web.RequestKey("user", User)
