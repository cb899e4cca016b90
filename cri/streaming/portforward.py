"""Port-forward plumbing shared by the SPDY and WebSocket variants: one forwarded connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from cri.streaming.backend import PortConnection
from cri.streaming.remotecommand import InputChannel, OutputChannel

READ_CHUNK = 32 * 1024
Dialer = Callable[[int], Awaitable[PortConnection]]


def port_not_allowed(port: int, allowed: tuple[int, ...]) -> str | None:
    if allowed and port not in allowed:
        return f"port {port} was not requested in the PortForward call (requested: {list(allowed)})"
    if not 0 < port < 65536:
        return f"invalid port {port}: must be in 1-65535"
    return None


async def dial(dialer: Dialer, port: int) -> PortConnection | str:
    """The connection, or the error text to send to the client."""
    try:
        return await dialer(port)
    except Exception as exc:
        return f"error forwarding port {port} to pod: {exc}"


async def forward(
    connection: PortConnection, inbound: InputChannel, outbound: OutputChannel, *, until_pod_closes: bool
) -> None:
    """Copy both ways until both directions ended (or, with ``until_pod_closes``, until the pod's).

    The pod closing its side half-closes the client's channel at once, as containerd does, so a
    client reading to the end gets its end. Channel protocols over WebSocket cannot half-close a
    channel, so there the pod closing its side ends the forwarded connection.
    """
    upstream = asyncio.create_task(_client_to_pod(inbound, connection))
    try:
        await _pod_to_client(connection, outbound)
        if not until_pod_closes:
            await outbound.close_write()
            await upstream
    finally:
        upstream.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upstream
        connection.writer.close()
        with contextlib.suppress(ConnectionError):
            await connection.writer.wait_closed()


async def _client_to_pod(inbound: InputChannel, connection: PortConnection) -> None:
    try:
        while data := await inbound.read():
            connection.writer.write(data)
            await connection.writer.drain()
        if connection.writer.can_write_eof():
            connection.writer.write_eof()
    except ConnectionError:
        pass


async def _pod_to_client(connection: PortConnection, outbound: OutputChannel) -> None:
    try:
        while data := await connection.reader.read(READ_CHUNK):
            await outbound.write(data)
    except ConnectionError:
        pass
