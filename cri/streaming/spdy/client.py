"""The client side of a SPDY/3.1 streaming session (what ``crictl --transport spdy`` speaks)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cri.streaming.negotiation import STREAM_PROTOCOL_HEADER
from cri.streaming.spdy.session import SpdySession, SpdyStream

READ_CHUNK = 64 * 1024
HEAD_LIMIT = 64 * 1024


class UpgradeRefused(ConnectionError):
    def __init__(self, status_line: str, body: str) -> None:
        super().__init__(
            f"unable to upgrade streaming request: {status_line.removeprefix('HTTP/1.1 ')}: {body}"
        )
        self.status_line = status_line


class StreamConnection:
    """A ByteTransport over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        try:
            return await self._reader.read(READ_CHUNK)
        except ConnectionError:
            return b""

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


@dataclass
class SpdyClient:
    session: SpdySession
    protocol: str
    reader: asyncio.Task[None]

    async def open_stream(self, headers: Sequence[tuple[str, str]]) -> SpdyStream:
        return await self.session.open_stream(tuple((name.lower(), value) for name, value in headers))

    async def close(self) -> None:
        await self.session.shutdown()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


async def connect_spdy(
    url: str, *, protocols: Sequence[str], ssl_context: ssl.SSLContext | None = None
) -> SpdyClient:
    """POST the upgrade to ``url`` offering ``protocols``; raises UpgradeRefused unless 101."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=(ssl_context or ssl.create_default_context()) if secure else None
    )
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Length: 0", "Connection: Upgrade",
            "Upgrade: SPDY/3.1", *(f"{STREAM_PROTOCOL_HEADER}: {p}" for p in protocols)]  # fmt: skip
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    await writer.drain()
    try:
        status_line, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        writer.close()
        raise ConnectionResetError(f"no upgrade response from {parts.netloc}: {exc}") from None
    if not status_line.startswith("HTTP/1.1 101"):
        body = await _short_body(reader, headers)
        writer.close()
        raise UpgradeRefused(status_line, body)
    session = SpdySession(StreamConnection(reader, writer), accept=lambda stream: False, client=True)
    return SpdyClient(session=session, protocol=headers.get(STREAM_PROTOCOL_HEADER.lower(), ""),
                      reader=asyncio.create_task(session.run()))  # fmt: skip


def _parse_head(raw: bytes) -> tuple[str, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _short_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> str:
    length = min(int(headers.get("content-length", "0") or 0), HEAD_LIMIT)
    with contextlib.suppress(TimeoutError, ConnectionError, asyncio.IncompleteReadError):
        async with asyncio.timeout(5):
            return (await reader.readexactly(length)).decode(errors="replace").strip()
    return ""
