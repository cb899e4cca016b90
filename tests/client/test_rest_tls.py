"""The RestClient over TLS as a kubeconfig describes it: CA check, client certificate, bearer token."""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from api.client import errors
from api.client.kubeconfig import load_kubeconfig
from api.client.resources import NAMESPACES
from api.client.rest import RestClient
from tests.client.pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield make_pki(tmp_path_factory.mktemp("pki"))


async def whoami(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peercert") if request.transport else None
    subject = dict(pair[0] for pair in peer["subject"]) if peer else {}
    token = request.headers.get("Authorization", "")
    if not subject and token != "Bearer good-token":
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
        return web.json_response(status, status=401)
    user = subject.get("commonName") or "token-user"
    return web.json_response(
        {"kind": "Namespace", "metadata": {"name": request.match_info["name"], "labels": {"user": user}}}
    )


@asynccontextmanager
async def tls_server(pki: Pki) -> AsyncIterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki.ca_cert)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_OPTIONAL
    app = web.Application()
    app.router.add_get("/api/v1/namespaces/{name}", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def kubeconfig(tmp_path: Path, port: int, ca: Path, user: dict[str, Any]) -> Path:
    document = {
        "current-context": "admin",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": f"https://127.0.0.1:{port}",
                    "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "admin", "user": user}],
        "contexts": [{"name": "admin", "context": {"cluster": "local", "user": "admin"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


async def get_user(path: Path) -> str:
    async with RestClient(load_kubeconfig(path)) as client:
        namespace = await client.get(NAMESPACES, "default")
    return str(namespace["metadata"]["labels"]["user"])


async def test_a_client_certificate_authenticates_as_its_common_name(pki: Pki, tmp_path: Path) -> None:
    user = {
        "client-certificate-data": base64.b64encode(pki.client_cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(pki.client_key.read_bytes()).decode(),
    }
    async with tls_server(pki) as port:
        assert await get_user(kubeconfig(tmp_path, port, pki.ca_cert, user)) == "admin"


async def test_a_bearer_token_is_sent(pki: Pki, tmp_path: Path) -> None:
    async with tls_server(pki) as port:
        assert (
            await get_user(kubeconfig(tmp_path, port, pki.ca_cert, {"token": "good-token"})) == "token-user"
        )


async def test_a_wrong_token_is_unauthorized(pki: Pki, tmp_path: Path) -> None:
    async with tls_server(pki) as port:
        with pytest.raises(errors.Unauthorized):
            await get_user(kubeconfig(tmp_path, port, pki.ca_cert, {"token": "bad"}))


async def test_a_server_not_signed_by_the_configured_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    async with tls_server(pki) as port:
        with pytest.raises(errors.ApiUnreachable, match="certificate verify failed"):
            await get_user(kubeconfig(tmp_path, port, pki.other_ca_cert, {"token": "good-token"}))
