"""What every RPC shares: error mapping (once, here), deadlines, mutation logs and metrics."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry, Counter, Histogram

from cri.errors import CRIError
from cri.exhaustion import exhausted

log = logging.getLogger("tinykube.cri")

R = TypeVar("R", bound=Message)
Req = TypeVar("Req", bound=Message)


class RpcMetrics:
    """Per-RPC count by code and latency histogram, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.calls = Counter(
            "cri_rpc_total", "CRI RPCs served, by method and code", ["method", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "cri_rpc_duration_seconds", "CRI RPC latency", ["method"], registry=self.registry
        )

    def observe(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        self.calls.labels(method=method, code=code.name).inc()
        self.latency.labels(method=method).observe(seconds)


def _ids(message: Message) -> str:
    """The identifying fields of a request or response, for the one log line per mutation."""
    parts = []
    for field, value in message.ListFields():
        if field.name.endswith("_id") or field.name == "image_ref":
            parts.append(f"{field.name}={value}")
        elif field.name == "image" and isinstance(value, Message):
            parts.append(f"image={getattr(value, 'image', '')}")
        elif field.name == "config" and isinstance(value, Message) and value.HasField("metadata"):
            metadata: Any = getattr(value, "metadata", None)
            parts.append(f"name={metadata.name}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class RpcStatus:
    code: grpc.StatusCode
    message: str


def status_of(method: str, exc: BaseException) -> RpcStatus:
    """The one mapping of an exception to the gRPC status a client sees and the metrics count."""
    if isinstance(exc, CRIError):
        return RpcStatus(exc.code, exc.message)
    if isinstance(exc, TimeoutError):
        return RpcStatus(grpc.StatusCode.DEADLINE_EXCEEDED, f"{method}: deadline exceeded")
    resource = exhausted(exc, what=method)
    if resource is not None:
        return RpcStatus(resource.code, resource.message)
    log.exception("%s failed unexpectedly", method, exc_info=exc)
    return RpcStatus(grpc.StatusCode.INTERNAL, f"{method}: internal error: {type(exc).__name__}: {exc}")


class Guard:
    """Wraps servicer methods; the only place CRI errors become gRPC statuses."""

    def __init__(self, metrics: RpcMetrics) -> None:
        self.metrics = metrics

    def unary(
        self, *, mutating: bool = False
    ) -> Callable[[Callable[[Any, Req], Awaitable[R]]], Callable[..., Awaitable[R]]]:
        """Decorate ``async def Rpc(self, request) -> response``."""
        guard = self

        def decorate(handler: Callable[[Any, Req], Awaitable[R]]) -> Callable[..., Awaitable[R]]:
            method = handler.__name__

            @functools.wraps(handler)
            async def wrapper(self: Any, request: Req, context: grpc.aio.ServicerContext[Req, R]) -> R:
                started = time.monotonic()
                code = grpc.StatusCode.OK
                try:
                    async with asyncio.timeout(context.time_remaining()):
                        response = await handler(self, request)
                except asyncio.CancelledError:
                    code = grpc.StatusCode.CANCELLED
                    raise
                except BaseException as exc:
                    status = status_of(method, exc)
                    code = status.code
                    await context.abort(status.code, status.message)
                    raise AssertionError("unreachable: abort raises") from exc
                finally:
                    guard.metrics.observe(method, code, time.monotonic() - started)
                if mutating:
                    log.info("%s %s %s", method, _ids(request), _ids(response))
                else:
                    log.debug("%s %s", method, _ids(request))
                return response

            return wrapper

        return decorate

    def stream(
        self,
    ) -> Callable[[Callable[[Any, Req], AsyncIterator[R]]], Callable[..., AsyncIterator[R]]]:
        """Decorate ``async def Rpc(self, request)`` generators (server-streaming RPCs)."""
        guard = self

        def decorate(handler: Callable[[Any, Req], AsyncIterator[R]]) -> Callable[..., AsyncIterator[R]]:
            method = handler.__name__

            @functools.wraps(handler)
            async def wrapper(
                self: Any, request: Req, context: grpc.aio.ServicerContext[Req, R]
            ) -> AsyncIterator[R]:
                started = time.monotonic()
                code = grpc.StatusCode.OK
                try:
                    async for item in handler(self, request):
                        yield item
                except (asyncio.CancelledError, GeneratorExit):  # the client went away (grpc closes us)
                    code = grpc.StatusCode.CANCELLED
                    raise
                except BaseException as exc:
                    status = status_of(method, exc)
                    code = status.code
                    await context.abort(status.code, status.message)
                finally:
                    guard.metrics.observe(method, code, time.monotonic() - started)

            return wrapper

        return decorate
