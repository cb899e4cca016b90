"""An async client for the OCI distribution API (Docker Registry HTTP API v2).

Pulls manifests and blobs (digest and size verified), pushes blobs and manifests, authenticates
with Basic or Bearer tokens, and walks the mirrors a ``certs.d`` directory configures in order,
falling back to the next one when an endpoint is unreachable, errs, or does not have the content.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from yarl import URL

from cri.errors import CRIError, NotFound, Unavailable
from shims.oci.auth import AuthenticationFailed, Challenge, Credentials, parse_challenge
from shims.oci.content import Descriptor, DigestMismatch, sha256_digest
from shims.oci.hosts import Endpoint, endpoints_for
from shims.oci.manifest import ACCEPT, media_type_of
from shims.oci.reference import Reference

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
READ_BUFFER_BYTES = 1 << 20
"""Per-response buffer before reading pauses: aiohttp's 64 KiB default pauses and resumes a layer
download every few socket reads."""


class ChunkSink(Protocol):
    """Where a blob's bytes go as they arrive: a content-store writer, or a feed to an unpacking thread."""

    async def put(self, chunk: bytes, /) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchedManifest:
    descriptor: Descriptor
    data: bytes
    endpoint: Endpoint


@dataclass(frozen=True, kw_only=True, slots=True)
class _Attempt:
    endpoint: Endpoint
    error: CRIError


class RegistryClient:
    """One aiohttp session; use as ``async with RegistryClient(...) as client``."""

    def __init__(self, *, certs_d: Path | None = None, insecure: Collection[str] = ()) -> None:
        self._certs_d = certs_d
        self._insecure = frozenset(insecure)
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[tuple[str, str], str] = {}

    async def __aenter__(self) -> RegistryClient:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)
        self._session = aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=16), read_bufsize=READ_BUFFER_BYTES
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def endpoints(self, ref: Reference, capability: str) -> tuple[Endpoint, ...]:
        found = endpoints_for(ref.domain, certs_d=self._certs_d, insecure=self._insecure)
        return tuple(e for e in found if capability in e.capabilities)

    async def fetch_manifest(
        self, ref: Reference, *, credentials: Credentials | None, reference: str | None = None
    ) -> FetchedManifest:
        """The manifest (or index) ``reference`` (default: the ref's digest or tag) names."""
        wanted = reference or ref.object
        capability = "pull" if wanted.startswith("sha256:") else "resolve"
        attempts: list[_Attempt] = []
        for endpoint in self.endpoints(ref, capability):
            try:
                return await self._fetch_manifest_from(endpoint, ref, wanted, credentials)
            except (NotFound, Unavailable, AuthenticationFailed, DigestMismatch) as exc:
                log.debug("manifest %s from %s failed: %s", wanted, endpoint.base_url, exc)
                attempts.append(_Attempt(endpoint=endpoint, error=exc))
        raise _summarise(f"{ref.repository}:{wanted}" if ":" not in wanted else f"{ref.repository}@{wanted}",
                         attempts)  # fmt: skip

    async def fetch_blob(
        self, ref: Reference, descriptor: Descriptor, sink: ChunkSink, *, credentials: Credentials | None,
        prefer: Endpoint | None = None,
    ) -> None:  # fmt: skip
        """Stream a blob into ``sink`` (whose reader verifies the digest), refusing more than its size."""
        endpoints = self.endpoints(ref, "pull")
        if prefer is not None and prefer in endpoints:
            endpoints = (prefer, *(e for e in endpoints if e != prefer))
        attempts: list[_Attempt] = []
        received = 0
        for endpoint in endpoints:
            url = f"{endpoint.base_url}/{ref.path}/blobs/{descriptor.digest}"
            try:
                async with await self._request("GET", endpoint, url, ref, credentials) as response:
                    _raise_for_status(response, f"blob {descriptor.digest}")
                    async for chunk, _ in response.content.iter_chunks():
                        received += len(chunk)
                        if received > descriptor.size:
                            raise DigestMismatch(
                                f"blob {descriptor.digest} is longer than its {descriptor.size} bytes"
                            )
                        await sink.put(chunk)
                return
            except (NotFound, Unavailable, AuthenticationFailed) as exc:
                attempts.append(_Attempt(endpoint=endpoint, error=exc))
            except aiohttp.ClientError as exc:
                attempts.append(_Attempt(endpoint=endpoint, error=Unavailable(f"{endpoint.base_url}: {exc}")))
            if received:
                raise attempts[-1].error
        raise _summarise(f"blob {descriptor.digest} of {ref.repository}", attempts)

    async def has_blob(
        self, ref: Reference, descriptor: Descriptor, *, credentials: Credentials | None
    ) -> bool:
        endpoint = self._push_endpoint(ref)
        url = f"{endpoint.base_url}/{ref.path}/blobs/{descriptor.digest}"
        async with await self._request("HEAD", endpoint, url, ref, credentials, push=True) as response:
            return response.status == 200

    async def push_blob(
        self, ref: Reference, descriptor: Descriptor, body: bytes, *, credentials: Credentials | None,
        mount_from: str = "",
    ) -> None:  # fmt: skip
        """Upload a blob unless the registry has it (or can mount it from ``mount_from``)."""
        if await self.has_blob(ref, descriptor, credentials=credentials):
            return
        endpoint = self._push_endpoint(ref)
        url = f"{endpoint.base_url}/{ref.path}/blobs/uploads/"
        params = {"mount": descriptor.digest, "from": mount_from} if mount_from else {}
        async with await self._request(
            "POST", endpoint, url, ref, credentials, push=True, params=params
        ) as started:
            if started.status == 201:
                return
            _raise_for_status(started, f"upload of {descriptor.digest}", ok=(202,))
            location = started.headers.get("Location", "")
        upload = str(started.url.join(URL(location)))
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(body))}
        async with await self._request(
            "PUT", endpoint, upload, ref, credentials, push=True,
            params={"digest": descriptor.digest}, data=body, headers=headers,
        ) as finished:  # fmt: skip
            _raise_for_status(finished, f"upload of {descriptor.digest}", ok=(201, 204))

    async def push_manifest(
        self,
        ref: Reference,
        tag_or_digest: str,
        *,
        media_type: str,
        data: bytes,
        credentials: Credentials | None,
    ) -> str:
        endpoint = self._push_endpoint(ref)
        url = f"{endpoint.base_url}/{ref.path}/manifests/{tag_or_digest}"
        headers = {"Content-Type": media_type}
        async with await self._request(
            "PUT", endpoint, url, ref, credentials, push=True, data=data, headers=headers
        ) as response:
            _raise_for_status(response, f"manifest {ref.repository}:{tag_or_digest}", ok=(201, 200))
        return sha256_digest(data)

    async def manifest_digest(self, ref: Reference, *, credentials: Credentials | None) -> str | None:
        """HEAD the push endpoint for ``ref``'s tag: its digest, or None when absent."""
        endpoint = self._push_endpoint(ref)
        url = f"{endpoint.base_url}/{ref.path}/manifests/{ref.object}"
        headers = {"Accept": ACCEPT}
        async with await self._request(
            "HEAD", endpoint, url, ref, credentials, push=True, headers=headers
        ) as r:
            if r.status == 404:
                return None
            _raise_for_status(r, f"manifest {ref}")
            return r.headers.get("Docker-Content-Digest")

    def _push_endpoint(self, ref: Reference) -> Endpoint:
        found = self.endpoints(ref, "push")
        if not found:
            raise Unavailable(f"no endpoint of {ref.domain} may be pushed to")
        return found[0]

    async def _fetch_manifest_from(
        self, endpoint: Endpoint, ref: Reference, wanted: str, credentials: Credentials | None
    ) -> FetchedManifest:
        url = f"{endpoint.base_url}/{ref.path}/manifests/{wanted}"
        try:
            async with await self._request(
                "GET", endpoint, url, ref, credentials, headers={"Accept": ACCEPT}
            ) as r:
                _raise_for_status(r, f"manifest {ref.repository}:{wanted}")
                data = await r.read()
                header_type = r.headers.get("Content-Type", "")
        except aiohttp.ClientError as exc:
            raise Unavailable(f"{endpoint.base_url}: {exc}") from None
        digest = sha256_digest(data)
        if wanted.startswith("sha256:") and digest != wanted:
            raise DigestMismatch(f"manifest {wanted} from {endpoint.base_url} has digest {digest}")
        media_type = media_type_of(data, header_type)
        return FetchedManifest(
            descriptor=Descriptor(media_type=media_type, digest=digest, size=len(data)),
            data=data,
            endpoint=endpoint,
        )

    async def _request(
        self, method: str, endpoint: Endpoint, url: str, ref: Reference, credentials: Credentials | None,
        *, push: bool = False, **kwargs: Any,
    ) -> aiohttp.ClientResponse:  # fmt: skip
        """Send a request, answering one auth challenge; the caller closes the response."""
        if self._session is None:
            raise RuntimeError("RegistryClient used outside 'async with'")
        scope = f"repository:{ref.path}:{'pull,push' if push else 'pull'}"
        headers = dict(kwargs.pop("headers", {}))
        cached = self._tokens.get((endpoint.base_url, scope))
        if cached:
            headers["Authorization"] = cached
        ssl_option: ssl.SSLContext | bool = not endpoint.skip_verify
        try:
            response = await self._session.request(method, url, headers=headers, ssl=ssl_option, **kwargs)
            if response.status != 401:
                return response
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            response.release()
            headers["Authorization"] = await self._authorize(endpoint, challenge, scope, credentials)
            self._tokens[(endpoint.base_url, scope)] = headers["Authorization"]
            response = await self._session.request(method, url, headers=headers, ssl=ssl_option, **kwargs)
        except aiohttp.ClientError as exc:
            raise Unavailable(f"registry {endpoint.base_url} unreachable: {exc}") from None
        if response.status == 401:
            response.release()
            self._tokens.pop((endpoint.base_url, scope), None)
            raise AuthenticationFailed(
                f"registry {endpoint.base_url} refused the credentials for {ref.repository}"
            )
        return response

    async def _authorize(
        self, endpoint: Endpoint, challenge: Challenge, scope: str, credentials: Credentials | None
    ) -> str:
        if challenge.scheme == "basic":
            if credentials is None or not credentials.has_basic:
                raise AuthenticationFailed(f"registry {endpoint.base_url} wants a username and password")
            return credentials.basic_header
        if challenge.scheme != "bearer" or not challenge.realm:
            raise AuthenticationFailed(f"registry {endpoint.base_url} sent an unusable auth challenge")
        if credentials is not None and credentials.registry_token:
            return f"Bearer {credentials.registry_token}"
        return f"Bearer {await self._fetch_token(challenge, scope, credentials)}"

    async def _fetch_token(self, challenge: Challenge, scope: str, credentials: Credentials | None) -> str:
        assert self._session is not None
        params = {"service": challenge.service, "scope": challenge.scope or scope}
        headers = {"Authorization": credentials.basic_header} if credentials and credentials.has_basic else {}
        if credentials is not None and credentials.identity_token:
            form = {**params, "grant_type": "refresh_token", "refresh_token": credentials.identity_token,
                    "client_id": "tinykube"}  # fmt: skip
            request = self._session.post(challenge.realm, data=form)
        else:
            request = self._session.get(challenge.realm, params=params, headers=headers)
        async with request as response:
            if response.status in (401, 403):
                raise AuthenticationFailed(f"token service {challenge.realm} refused the credentials")
            _raise_for_status(response, f"token from {challenge.realm}")
            body = await response.json(content_type=None)
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed(f"token service {challenge.realm} answered without a token")
        return token


def _raise_for_status(response: aiohttp.ClientResponse, what: str, *, ok: tuple[int, ...] = (200,)) -> None:
    if response.status in ok:
        return
    response.release()
    if response.status == 404:
        raise NotFound(f"{what} not found at {response.url.with_query(None)}")
    if response.status == 403:
        raise AuthenticationFailed(f"{what}: access denied by {response.url.host}")
    raise Unavailable(
        f"{what}: {response.url.with_query(None)} answered HTTP {response.status} {response.reason}"
    )


def _summarise(what: str, attempts: list[_Attempt]) -> CRIError:
    if not attempts:
        return Unavailable(f"{what}: no registry endpoint is configured for it")
    tried = "; ".join(f"{a.endpoint.base_url}: {a.error.message}" for a in attempts)
    for kind in (AuthenticationFailed, DigestMismatch, NotFound):
        if any(isinstance(a.error, kind) for a in attempts):
            return kind(f"{what}: {tried}")
    return Unavailable(f"{what}: {tried}")
