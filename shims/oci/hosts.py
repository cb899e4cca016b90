"""Per-registry endpoints from a containerd-style ``certs.d`` directory.

``<certs_d>/<host>/hosts.toml`` holds ``server = "https://..."`` (the upstream, tried last) and
``[host."URL"]`` tables (mirrors, tried in file order) with ``capabilities`` (pull, resolve, push),
``skip_verify`` and ``override_path``. The same directory configures containerd (``config_path``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cri.errors import InvalidArgument

ALL_CAPABILITIES = frozenset({"pull", "resolve", "push"})
DEFAULT_INSECURE = frozenset({"127.0.0.1", "localhost", "[::1]"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Endpoint:
    base_url: str
    """Scheme, host and path prefix: requests go to ``<base_url>/<repository>/manifests/...``."""
    capabilities: frozenset[str]
    skip_verify: bool = False

    @property
    def plain_http(self) -> bool:
        return self.base_url.startswith("http://")


def default_server(host: str) -> str:
    if host == "docker.io":
        return "https://registry-1.docker.io"
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    scheme = "http" if hostname in DEFAULT_INSECURE else "https"
    return f"{scheme}://{host}"


def endpoints_for(host: str, *, certs_d: Path | None, insecure: Collection[str] = ()) -> tuple[Endpoint, ...]:
    """Mirrors first (hosts.toml order), the upstream server last."""
    config = _read_hosts_toml(certs_d / _dir_name(host) / "hosts.toml") if certs_d else {}
    server = str(config.get("server") or default_server(host))
    if host in insecure and server.startswith("https://"):
        server = "http://" + server.removeprefix("https://")
    mirrors = tuple(_endpoint(url, table) for url, table in (config.get("host") or {}).items())
    upstream = _endpoint(server, config, default_capabilities=ALL_CAPABILITIES)
    return (*mirrors, upstream)


def write_mirror(certs_d: Path, *, host: str, mirror_url: str) -> bool:
    """Write ``<certs_d>/<host>/hosts.toml`` sending pulls of ``host`` to ``mirror_url``; True if changed."""
    text = (
        f'server = "{default_server(host)}"\n\n'
        f'[host."{mirror_url}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        + ("  skip_verify = true\n" if mirror_url.startswith("https://") else "")
    )
    path = certs_d / _dir_name(host) / "hosts.toml"
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(text)
    temp.replace(path)
    return True


def _dir_name(host: str) -> str:
    return host.replace("[", "").replace("]", "") if host.startswith("[") else host


def _read_hosts_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{path}: invalid TOML: {exc}") from None


def _endpoint(url: str, table: Any, *, default_capabilities: frozenset[str] = ALL_CAPABILITIES) -> Endpoint:
    if not isinstance(table, dict):
        table = {}
    if not url.startswith(("http://", "https://")):
        url = "https://" + url
    capabilities = frozenset(table.get("capabilities") or default_capabilities)
    url = url.rstrip("/")
    if not table.get("override_path"):
        url += "/v2"
    return Endpoint(base_url=url, capabilities=capabilities, skip_verify=bool(table.get("skip_verify")))
