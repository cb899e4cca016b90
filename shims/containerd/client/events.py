"""containerd's event stream, resubscribed after containerd restarts or the stream breaks.

Events published while no subscription was open are lost, so each time a subscription opens (the
first time too) the stream yields ``Subscribed``: the consumer reconciles its state with containerd's
stores then, and any change after that comes as an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.protobuf import symbol_database
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.empty_pb2 import Empty
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

MARKER_TOPIC = "/tinykube/subscribed"
ANNOUNCE_INTERVAL_S = 0.05
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A subscription is open: events before it may be missing (containerd keeps no backlog)."""


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


async def subscribe(connection: Connection, *filters: str) -> AsyncIterator[Event | Subscribed]:
    """Events matching any of ``filters`` (containerd's syntax: ``namespace==x,topic~="/tasks/"`` is
    an AND) for ever; ``Subscribed`` each time a subscription is open."""
    subscription = connection.channel.unary_stream(
        method_path(pb.DESCRIPTOR, "Events", "Subscribe"),
        request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=event_pb2.Envelope.FromString,
    )
    while True:
        marker = f"{MARKER_TOPIC}/{secrets.token_hex(8)}"
        request = pb.SubscribeRequest(filters=[*filters, f'topic=="{marker}"'])
        call = subscription(request, metadata=connection.metadata())
        announcing = asyncio.ensure_future(_announce(connection, marker))
        try:
            async for envelope in call:
                if envelope.topic != marker:
                    yield decode(envelope)
                elif not announcing.done():
                    announcing.cancel()
                    yield Subscribed()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise mapped(exc) from None
            log.info("containerd event stream broke: %s", exc.details())
        finally:
            announcing.cancel()
            call.cancel()
        await until_answering(connection)


async def _announce(connection: Connection, topic: str) -> None:
    """Publish ``topic`` until cancelled: the subscription is open once its own marker comes back
    (containerd registers a subscriber some time after the call arrives, and says nothing)."""
    request = pb.PublishRequest(topic=topic, event=AnyMessage(type_url=Empty.DESCRIPTOR.full_name))
    path = method_path(pb.DESCRIPTOR, "Events", "Publish")
    with contextlib.suppress(Unavailable):
        while True:
            await connection.unary(path, request, Empty, timeout=5.0)
            await asyncio.sleep(ANNOUNCE_INTERVAL_S)


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
