"""A small streaming client for the checks: exec/attach/port-forward over SPDY/3.1 and WebSocket.

SPDY framing and the upgrade come from the crictl client (``cri.crictl.spdy_transport``); this
module only drives whole sessions and returns what came back, so checks can compare bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from conformance import images
from cri.crictl.session import CommandError
from cri.crictl.spdy_transport import CHANNEL_PROTOCOLS, PORT_FORWARD_PROTOCOL, SpdyConnection
from cri.crictl.stream_client import outcome_of_status, websocket_url

SESSION_TIMEOUT = 30.0
RESEND_SECONDS = 3.0
WS_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255


class StreamRefused(AssertionError):
    """The streaming server refused the upgrade or the session."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamResult:
    stdout: bytes
    stderr: bytes
    exit_code: int
    error: str | None
    protocol: str


async def spdy_session(
    url: str, *, stdin: bytes | None = None, tty: bool = False, until: bytes | None = None
) -> StreamResult:
    """One exec or attach over SPDY: open the channels, send stdin, read to the Status.

    stdin is half-closed right after it is sent, or (attach ends when stdin closes) sent until
    stdout contains ``until`` (see ``_send_until_seen``) and closed then.
    """
    try:
        connection = await asyncio.wait_for(SpdyConnection.upgrade(url, CHANNEL_PROTOCOLS), SESSION_TIMEOUT)
    except CommandError as exc:
        raise StreamRefused(str(exc)) from None
    out, err, status = bytearray(), bytearray(), bytearray()
    seen = asyncio.Event()

    def on_stdout(data: bytes) -> None:
        out.extend(data)
        if until is not None and until in out:
            seen.set()

    try:
        error_stream = await connection.open_stream((("streamtype", "error"),), status.extend)
        stdin_stream = None
        if stdin is not None:
            stdin_stream = await connection.open_stream((("streamtype", "stdin"),), lambda _: None)
        await connection.open_stream((("streamtype", "stdout"),), on_stdout)
        if tty:
            await connection.open_stream((("streamtype", "resize"),), lambda _: None)
        else:
            await connection.open_stream((("streamtype", "stderr"),), err.extend)
        if stdin_stream is not None and stdin is not None:
            if until is None:
                await connection.send(stdin_stream, stdin, fin=True)
            else:
                await _send_until_seen(lambda: connection.send(stdin_stream, stdin), seen)
                with contextlib.suppress(ConnectionError):  # the session may already be over
                    await connection.send(stdin_stream, b"", fin=True)
        await asyncio.wait_for(connection.finished(error_stream), SESSION_TIMEOUT)
    except CommandError as exc:
        raise StreamRefused(str(exc)) from None
    finally:
        await connection.close()
    outcome = outcome_of_status(bytes(status)) if status else outcome_of_status(b'{"status":"Success"}')
    return StreamResult(
        stdout=bytes(out), stderr=bytes(err), exit_code=outcome.exit_code, error=outcome.error,
        protocol=connection.protocol,
    )  # fmt: skip


async def websocket_session(
    url: str, *, stdin: bytes | None = None, until: bytes | None = None
) -> StreamResult:
    """One exec or attach over WebSocket (v5, else v4 channel protocol).

    With ``until``, stdin goes out after the server's ready signal (its first, empty frame: data
    sent before it may reach an attach that is not wired yet), again until stdout holds ``until``
    (see ``_send_until_seen``), and stays open until then: closing an attach's stdin detaches,
    which would race the answer.
    """
    out, err, status = bytearray(), bytearray(), bytearray()
    seen = asyncio.Event()
    sender: asyncio.Task[None] | None = None
    async with aiohttp.ClientSession() as http:
        try:
            ws = await http.ws_connect(websocket_url(url), protocols=WS_PROTOCOLS, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            raise StreamRefused(f"WebSocket upgrade refused: {exc.status} {exc.message}") from None
        async with ws:
            pending = stdin
            if pending is not None and until is None:
                await ws.send_bytes(bytes([STDIN]) + pending)
                if ws.protocol == WS_PROTOCOLS[0]:
                    await ws.send_bytes(bytes([CLOSE, STDIN]))
                pending = None
            try:
                async with asyncio.timeout(SESSION_TIMEOUT):
                    async for message in ws:
                        if pending is not None:
                            send = functools.partial(ws.send_bytes, bytes([STDIN]) + pending)
                            sender = asyncio.create_task(_send_until_seen(send, seen))
                            pending = None
                        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                            continue
                        sink = {STDOUT: out, STDERR: err, ERROR: status}.get(message.data[0])
                        if sink is not None:
                            sink.extend(message.data[1:])
                        if until is not None and until in out:
                            seen.set()
                            break
            finally:
                if sender is not None:
                    sender.cancel()
            protocol = ws.protocol or ""
    outcome = outcome_of_status(bytes(status)) if status else outcome_of_status(b'{"status":"Success"}')
    return StreamResult(
        stdout=bytes(out),
        stderr=bytes(err),
        exit_code=outcome.exit_code,
        error=outcome.error,
        protocol=protocol,
    )


async def _send_until_seen(send: Callable[[], Awaitable[object]], seen: asyncio.Event) -> None:
    """Send stdin, and again every RESEND_SECONDS, until ``seen`` is set (at most SESSION_TIMEOUT).

    An attach hears only the output made after the runtime wired it, and a runtime may wire stdin
    first (containerd does): the answer to the first copy can be lost, the answer to a later one
    cannot. The attached process must answer every copy (a loop, a shell). A session that ends
    meanwhile ends the sending; what came back tells the check what happened.
    """
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(SESSION_TIMEOUT):
            while True:
                await send()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(seen.wait(), RESEND_SECONDS)
                    return


async def spdy_port_forward(url: str, port: int, request: bytes) -> bytes:
    """Send ``request`` to ``port`` in the pod over SPDY port-forward; everything the pod answered."""
    try:
        connection = await asyncio.wait_for(
            SpdyConnection.upgrade(url, (PORT_FORWARD_PROTOCOL,)), SESSION_TIMEOUT
        )
    except CommandError as exc:
        raise StreamRefused(str(exc)) from None
    reply, errors = bytearray(), bytearray()
    try:
        headers = (("port", str(port)), ("requestid", "0"))
        error_stream = await connection.open_stream((("streamtype", "error"), *headers), errors.extend)
        await connection.send(error_stream, b"", fin=True)
        data_stream = await connection.open_stream((("streamtype", "data"), *headers), reply.extend)
        await connection.send(data_stream, request, fin=True)
        await asyncio.wait_for(connection.finished(data_stream), SESSION_TIMEOUT)
    except CommandError as exc:
        raise StreamRefused(str(exc)) from None
    finally:
        await connection.close()
    if errors and not reply:
        raise StreamRefused(errors.decode(errors="replace"))
    return bytes(reply)


async def websocket_port_forward(url: str, port: int, request: bytes) -> bytes:
    """Send ``request`` to ``port`` over WebSocket port-forward (channel 0 data, 1 error)."""
    separator = "&" if "?" in url else "?"
    reply, skipped = bytearray(), {0: 0, 1: 0}
    async with aiohttp.ClientSession() as http:
        try:
            ws = await http.ws_connect(
                websocket_url(f"{url}{separator}ports={port}"),
                protocols=("v4.channel.k8s.io",),
                max_msg_size=0,
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise StreamRefused(f"WebSocket upgrade refused: {exc.status} {exc.message}") from None
        async with ws:
            await ws.send_bytes(bytes([0]) + request)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    async for message in ws:
                        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                            continue
                        channel, data = message.data[0], message.data[1:]
                        if channel not in skipped:
                            continue
                        prefix = min(2 - skipped[channel], len(data))
                        skipped[channel] += prefix
                        if channel == 0:
                            reply.extend(data[prefix:])
                        if b"</html>" in reply or reply.count(images.WEB_BODY.encode()):
                            break
    return bytes(reply)
