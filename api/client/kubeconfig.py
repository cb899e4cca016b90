"""Kubeconfig files: the current context's cluster, user and namespace, resolved as client-go does."""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message names the file and what is wrong in it."""


@dataclass(frozen=True, kw_only=True)
class Credential:
    """PEM bytes read from a ``*-data`` field or from the file it names."""

    pem: bytes
    origin: str


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    server: str
    certificate_authority: Credential | None = None
    client_certificate: Credential | None = None
    client_key: Credential | None = None
    token: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    namespace: str = "default"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for an https server (``None`` for plain http, e.g. a test server)."""
        if not self.server.startswith("https://"):
            return None
        context = ssl.create_default_context(
            cadata=None if self.certificate_authority is None else self.certificate_authority.pem.decode()
        )
        if self.insecure_skip_tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_certificate is not None and self.client_key is not None:
            _load_client_pair(context, self.client_certificate.pem, self.client_key.pem)
        return context


def _load_client_pair(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl accepts a certificate chain only from files: a private directory that lives for the load.
    with tempfile.TemporaryDirectory(prefix="tinykube-kubeconfig-") as directory:
        cert_path, key_path = Path(directory, "client.crt"), Path(directory, "client.key")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        context.load_cert_chain(cert_path, key_path)


def default_kubeconfig_path() -> Path:
    """The first file of ``$KUBECONFIG``, else ``~/.kube/config``."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return Path(listed[0]) if listed else Path.home() / ".kube" / "config"


def load_kubeconfig(path: Path | str | None = None, *, context: str | None = None) -> ClientConfig:
    source = Path(path) if path is not None else default_kubeconfig_path()
    try:
        document = yaml.safe_load(source.read_text())
    except OSError as error:
        raise KubeconfigError(f"kubeconfig {source}: cannot be read: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise KubeconfigError(f"kubeconfig {source}: is not valid YAML: {error}") from error
    if not isinstance(document, Mapping):
        raise KubeconfigError(f"kubeconfig {source}: is not a kubeconfig (no mapping at the top)")
    return _Resolver(source, document).client_config(context)


class _Resolver:
    def __init__(self, source: Path, document: Mapping[str, Any]) -> None:
        self.source = source
        self.document = document

    def fail(self, problem: str) -> KubeconfigError:
        return KubeconfigError(f"kubeconfig {self.source}: {problem}")

    def named(self, section: str, name: str, field: str) -> Mapping[str, Any]:
        for entry in self.document.get(section) or ():
            if isinstance(entry, Mapping) and entry.get("name") == name:
                body = entry.get(field)
                if not isinstance(body, Mapping):
                    raise self.fail(f'{field} "{name}" has no {field} fields')
                return body
        raise self.fail(f'{field} "{name}" not found in {section}')

    def client_config(self, context_name: str | None) -> ClientConfig:
        name = context_name or self.document.get("current-context")
        if not name:
            raise self.fail("current-context is not set and no context was given")
        context = self.named("contexts", str(name), "context")
        cluster = self.named("clusters", str(context.get("cluster", "")), "cluster")
        user = self.named("users", str(context.get("user", "")), "user") if context.get("user") else {}
        server = cluster.get("server")
        if not server:
            raise self.fail(f'cluster "{context.get("cluster")}" has no server')
        certificate, key = self.credential(user, "client-certificate"), self.credential(user, "client-key")
        if (certificate is None) != (key is None):
            missing = "client-key" if key is None else "client-certificate"
            raise self.fail(f'user "{context.get("user")}" has no {missing} to pair with its other half')
        return ClientConfig(
            server=str(server).rstrip("/"),
            certificate_authority=self.credential(cluster, "certificate-authority"),
            client_certificate=certificate,
            client_key=key,
            token=self.token(user),
            insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
            tls_server_name=cluster.get("tls-server-name"),
            namespace=str(context.get("namespace") or "default"),
        )

    def credential(self, section: Mapping[str, Any], field: str) -> Credential | None:
        data = section.get(f"{field}-data")
        if data:
            try:
                return Credential(pem=base64.b64decode(str(data), validate=True), origin=f"{field}-data")
            except binascii.Error as error:
                raise self.fail(f"{field}-data is not valid base64: {error}") from error
        if section.get(field):
            return Credential(pem=self.read(str(section[field]), field), origin=str(section[field]))
        return None

    def token(self, user: Mapping[str, Any]) -> str | None:
        if user.get("token"):
            return str(user["token"])
        if user.get("tokenFile"):
            return self.read(str(user["tokenFile"]), "tokenFile").decode().strip()
        return None

    def read(self, name: str, field: str) -> bytes:
        path = Path(name) if Path(name).is_absolute() else self.source.parent / name
        try:
            return path.read_bytes()
        except OSError as error:
            raise self.fail(f"{field} {path}: cannot be read: {error.strerror}") from error
