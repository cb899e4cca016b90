"""containerd's event stream, resubscribed after containerd restarts or the stream breaks.

Events published while no subscription was open are lost, so after each resubscription the stream
yields ``Resubscribed``: the consumer reconciles its state with containerd's stores then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.protobuf import symbol_database
from google.protobuf.message import Message

from cri.errors import Unavailable
from shims.containerd._gen.events import (  # noqa: F401  (registers the event messages by name)
    container_pb2,
    content_pb2,
    image_pb2,
    namespace_pb2,
    snapshot_pb2,
    task_pb2,
)
from shims.containerd._gen.services.events.v1 import events_pb2 as pb
from shims.containerd._gen.types import event_pb2
from shims.containerd.client.connection import Connection, mapped, method_path
from shims.containerd.client.types import Event
from shims.containerd.client.version import Version

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class Resubscribed:
    """The stream was broken and is open again: events in between may be missing."""


def decode(envelope: event_pb2.Envelope) -> Event:
    """The envelope with its payload as the message its type URL names. containerd's type URLs are
    bare message names (``containerd.events.TaskExit``), which ``Any.Unpack`` does not accept."""
    name = envelope.event.type_url.rsplit("/", 1)[-1]
    payload: Message = symbol_database.Default().GetSymbol(name)()
    payload.ParseFromString(envelope.event.value)
    return Event(
        timestamp=envelope.timestamp.ToDatetime().astimezone(),
        namespace=envelope.namespace,
        topic=envelope.topic,
        payload=payload,
    )


async def subscribe(connection: Connection, *filters: str) -> AsyncIterator[Event | Resubscribed]:
    """Events matching ``filters`` (containerd filter syntax, e.g. ``topic~="/tasks/"``) for ever;
    ``Resubscribed`` once a subscription is open again after a break."""
    subscription = connection.channel.unary_stream(
        method_path(pb.DESCRIPTOR, "Events", "Subscribe"),
        request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=event_pb2.Envelope.FromString,
    )
    request = pb.SubscribeRequest(filters=list(filters))
    while True:
        call = subscription(request, metadata=connection.metadata())
        try:
            async for envelope in call:
                yield decode(envelope)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise mapped(exc) from None
            log.info("containerd event stream broke: %s", exc.details())
        finally:
            call.cancel()
        await until_answering(connection)
        yield Resubscribed()


async def until_answering(connection: Connection) -> None:
    """Wait, retrying with a growing delay, until containerd answers a call again."""
    delay = RETRY_FIRST_S
    version = Version(connection)
    while True:
        try:
            await version.version()
            return
        except Unavailable:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
