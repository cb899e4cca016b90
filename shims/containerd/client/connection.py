"""One gRPC channel to containerd, scoped to a containerd namespace.

Every call carries the ``containerd-namespace`` metadata (and ``containerd-lease`` inside a lease), and
every gRPC error containerd answers is mapped here, once, into the CRI error tree the shim raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import grpc
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message

from cri.errors import CRIError, Unavailable, error_for_code

DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
MAX_MESSAGE = 16 * 1024 * 1024
NAMESPACE_HEADER = "containerd-namespace"
LEASE_HEADER = "containerd-lease"

R = TypeVar("R", bound=Message)
T = TypeVar("T")

current_lease: ContextVar[str | None] = ContextVar("containerd_lease", default=None)
"""The lease every call in this context runs under (set by ``Leases.held``)."""


def method_path(file: FileDescriptor, service: str, method: str) -> str:
    """The wire path of ``service.method`` as the generated descriptor names it."""
    return f"/{file.services_by_name[service].full_name}/{method}"


def mapped(exc: grpc.aio.AioRpcError) -> CRIError:
    """containerd's status as the CRI error carrying the same code (errdefs map 1:1 onto gRPC codes)."""
    return error_for_code(exc.code(), f"containerd: {exc.details()}")


class Connection:
    """Calls to one containerd in one namespace; ``with_namespace`` shares the channel."""

    def __init__(self, channel: grpc.aio.Channel, *, address: str, namespace: str, timeout: float) -> None:
        self.channel = channel
        self.address = address
        self.namespace = namespace
        self.timeout = timeout

    def with_namespace(self, namespace: str) -> Connection:
        return Connection(self.channel, address=self.address, namespace=namespace, timeout=self.timeout)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        lease = current_lease.get()
        namespace = ((NAMESPACE_HEADER, self.namespace),)
        return namespace if lease is None else (*namespace, (LEASE_HEADER, lease))

    async def unary(
        self,
        path: str,
        request: Message,
        reply: type[R],
        *,
        timeout: float | None = None,
        patient: bool = False,
    ) -> R:
        """One call; ``patient`` calls (Wait) have no deadline."""
        call = self.channel.unary_unary(
            path, request_serializer=_serialize, response_deserializer=reply.FromString
        )
        try:
            deadline = None if patient else timeout or self.timeout
            answer: R = await call(request, metadata=self.metadata(), timeout=deadline)
        except grpc.aio.AioRpcError as exc:
            raise mapped(exc) from None
        return answer

    async def server_stream(self, path: str, request: Message, reply: type[R]) -> AsyncIterator[R]:
        call = self.channel.unary_stream(
            path, request_serializer=_serialize, response_deserializer=reply.FromString
        )
        stream = call(request, metadata=self.metadata())
        try:
            async for item in stream:
                yield item
        except grpc.aio.AioRpcError as exc:
            raise mapped(exc) from None
        finally:
            stream.cancel()

    def bidi(self, path: str, reply: type[R]) -> grpc.aio.StreamStreamCall[Any, Any]:
        """A bidirectional call; its errors are for the caller to map with ``guarded``."""
        call = self.channel.stream_stream(
            path, request_serializer=_serialize, response_deserializer=reply.FromString
        )
        # grpc.aio takes no request iterator when the caller writes the requests (the stubs want one).
        return call(metadata=self.metadata(), timeout=None)  # type: ignore[call-arg]


async def guarded(step: Awaitable[T]) -> T:
    """``step`` with containerd's errors mapped (for calls made outside ``Connection``'s helpers)."""
    try:
        return await step
    except grpc.aio.AioRpcError as exc:
        raise mapped(exc) from None


async def read_reply(call: grpc.aio.StreamStreamCall[Any, Any], reply: type[R]) -> R:
    """The next message of a bidirectional call; the call's error status if it ended instead."""
    message = await guarded(call.read())
    if not isinstance(message, reply):  # grpc.aio.EOF: the call ended
        raise error_for_code(await call.code(), f"containerd: {await call.details()}")
    return message


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


@asynccontextmanager
async def connect(
    address: str = DEFAULT_ADDRESS,
    *,
    namespace: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> AsyncIterator[Connection]:
    """A connection to the containerd listening on the unix socket ``address``."""
    channel = grpc.aio.insecure_channel(
        f"unix://{address}",
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            # after containerd restarts, reconnect within a second or two, not grpc's default minutes
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ],
    )
    try:
        await _ready(channel, address, connect_timeout)
        yield Connection(channel, address=address, namespace=namespace, timeout=timeout)
    finally:
        await channel.close(None)


async def _ready(channel: grpc.aio.Channel, address: str, connect_timeout: float) -> None:
    try:
        await asyncio.wait_for(channel.channel_ready(), connect_timeout)
    except TimeoutError:
        raise Unavailable(f"containerd at {address} did not answer within {connect_timeout:g}s") from None
