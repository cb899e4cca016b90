"""The async REST client: one aiohttp session (connections reused) per apiserver, JSON objects in and out."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp

from api.client.clock import Clock, MonotonicClock
from api.client.errors import ApiUnreachable, error_from_status, status_for
from api.client.kubeconfig import ClientConfig
from api.client.resources import Resource
from api.client.types import NO_SELECTORS, EventType, Obj, ObjectList, PatchType, Selectors, WatchEvent, meta

REQUEST_TIMEOUT_S = 60.0
MAX_RETRY_AFTER = 10
CONNECT_TIMEOUT_S = 10.0
_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def _params(**values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or value is False:
            continue
        out[key] = "true" if value is True else str(value)
    return out


def _selector_params(selectors: Selectors) -> dict[str, str]:
    return _params(labelSelector=selectors.labels, fieldSelector=selectors.fields)


class RestClient:
    """``async with RestClient(load_kubeconfig(path)) as api``; it satisfies ``api.client.protocol.Api``."""

    def __init__(
        self, config: ClientConfig, *, user_agent: str = "tinykube-client", clock: Clock | None = None
    ) -> None:
        self.config = config
        self.clock: Clock = clock or MonotonicClock()
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        connector = aiohttp.TCPConnector(ssl=self.config.ssl_context() or False)
        self._session = aiohttp.ClientSession(
            base_url=self.config.server,
            headers=headers,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S),
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("RestClient is used outside its `async with` block")
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Obj:
        """One call; a 429 or 5xx with ``Retry-After`` is retried after that many seconds, up to 10 times
        (client-go's ``checkWait``: the server says it did not process the request)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        for attempt in range(MAX_RETRY_AFTER + 1):
            try:
                async with self.session.request(
                    method, path, params=params, data=data, headers=headers
                ) as response:
                    text = await response.text()
                    wait = _retry_after(response)
            except aiohttp.ClientError as error:
                raise ApiUnreachable(f"{method} {self.config.server}{path}: {error}") from error
            if wait is not None and attempt < MAX_RETRY_AFTER:
                await self.clock.sleep(wait)
                continue
            if response.status >= 400:
                raise _error(response.status, text)
            break
        decoded: Obj = json.loads(text) if text else {}
        return decoded

    async def get(
        self, resource: Resource, name: str, *, namespace: str | None = None, subresource: str | None = None
    ) -> Obj:
        return await self.request(
            "GET", resource.path(namespace=namespace, name=name, subresource=subresource)
        )

    async def list(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        selectors: Selectors = NO_SELECTORS,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> ObjectList:
        params = _selector_params(selectors) | _params(
            limit=limit, resourceVersion=resource_version, **{"continue": continue_token}
        )
        body = await self.request("GET", resource.path(namespace=namespace), params=params)
        list_meta = body.get("metadata") or {}
        return ObjectList(
            items=tuple(_with_kind(item, resource) for item in body.get("items") or ()),
            resource_version=str(list_meta.get("resourceVersion", "")),
            continue_token=list_meta.get("continue") or None,
        )

    async def create(
        self,
        resource: Resource,
        obj: Mapping[str, Any],
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> Obj:
        namespace = namespace or meta(obj).get("namespace")
        path = resource.path(namespace=namespace, name=name, subresource=subresource)
        return await self.request("POST", path, params=_params(fieldManager=field_manager), body=obj)

    async def update(
        self,
        resource: Resource,
        obj: Mapping[str, Any],
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> Obj:
        metadata = meta(obj)
        path = resource.path(
            namespace=metadata.get("namespace"), name=metadata.get("name"), subresource=subresource
        )
        return await self.request("PUT", path, params=_params(fieldManager=field_manager), body=obj)

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType,
        namespace: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> Obj:
        path = resource.path(namespace=namespace, name=name, subresource=subresource)
        params = _params(fieldManager=field_manager, force=force)
        return await self.request(
            "PATCH", path, params=params, body=patch, content_type=patch_type.content_type
        )

    async def delete(
        self,
        resource: Resource,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> Obj:
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            options["preconditions"] = dict(preconditions)
        return await self.request("DELETE", resource.path(namespace=namespace, name=name), body=options)

    async def watch(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        selectors: Selectors = NO_SELECTORS,
        resource_version: str | None = None,
        allow_watch_bookmarks: bool = False,
        timeout_seconds: int | None = None,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Events as streamed; an ERROR event is raised as its ``ApiError`` (410 → ``Gone``)."""
        params = _selector_params(selectors) | _params(
            watch=True,
            resourceVersion=resource_version,
            allowWatchBookmarks=allow_watch_bookmarks,
            timeoutSeconds=timeout_seconds,
        )
        path = resource.path(namespace=namespace)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S)
        try:
            async with self.session.get(path, params=params, timeout=timeout) as response:
                if response.status >= 400:
                    raise _error(response.status, await response.text())
                async for line in _lines(response.content):
                    yield _event(line, resource)
        except aiohttp.ClientError as error:
            raise ApiUnreachable(f"watch {self.config.server}{path}: {error}") from error


async def _lines(stream: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    # Objects can exceed aiohttp's readline limit: split the chunks ourselves.
    pending = b""
    async for chunk in stream.iter_any():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


def _event(line: bytes, resource: Resource) -> WatchEvent:
    decoded = json.loads(line)
    event_type = EventType(decoded["type"])
    obj = decoded.get("object") or {}
    if event_type is EventType.ERROR:
        raise error_from_status(obj)
    return WatchEvent(
        type=event_type, object=obj if event_type is EventType.BOOKMARK else _with_kind(obj, resource)
    )


def _with_kind(obj: Obj, resource: Resource) -> Obj:
    # List items come without apiVersion/kind; informers hand out whole objects.
    if "kind" not in obj:
        obj = {"apiVersion": resource.api_version, "kind": resource.kind, **obj}
    return obj


def _retry_after(response: aiohttp.ClientResponse) -> int | None:
    if response.status != 429 and response.status // 100 != 5:
        return None
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def _error(code: int, text: str) -> Exception:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return error_from_status(body, code)
    reason = _REASON_BY_CODE.get(code, "Unknown")
    return error_from_status(status_for(code, reason, text.strip() or f"the server answered {code}"), code)
