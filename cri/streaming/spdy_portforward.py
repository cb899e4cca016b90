"""Port-forward over SPDY/3.1 (``portforward.k8s.io``): an error and a data stream per connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cri.streaming.backend import PortConnection
from cri.streaming.portforward import Dialer, dial, forward, port_not_allowed
from cri.streaming.spdy.session import SpdySession, SpdyStream
from cri.streaming.transport import ByteTransport

log = logging.getLogger(__name__)


class _Pair:
    def __init__(self) -> None:
        self.error: SpdyStream | None = None
        self.data: SpdyStream | None = None


class SpdyPortForward:
    def __init__(self, transport: ByteTransport, *, dialer: Dialer, allowed_ports: tuple[int, ...]) -> None:
        self._session = SpdySession(transport, accept=self._accept)
        self._dialer = dialer
        self._allowed = allowed_ports
        self._pairs: dict[str, _Pair] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        """Until the client is gone, or said GOAWAY and its open connections finished."""
        reader = asyncio.create_task(self._session.run())
        gone_away = asyncio.create_task(self._gone_away())
        try:
            await asyncio.wait([reader, gone_away], return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            gone_away.cancel()
            await asyncio.gather(reader, gone_away, return_exceptions=True)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._session.shutdown()

    async def _gone_away(self) -> None:
        await self._session.goaway_received.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _accept(self, stream: SpdyStream) -> bool:
        kind, request_id = stream.header("streamtype"), stream.header("requestid")
        if kind not in ("error", "data") or request_id is None or stream.header("port") is None:
            return False
        pair = self._pairs.setdefault(request_id, _Pair())
        if getattr(pair, kind) is not None:
            return False
        setattr(pair, kind, stream)
        if pair.error is not None and pair.data is not None:
            del self._pairs[request_id]
            task = asyncio.create_task(self._serve_pair(pair.error, pair.data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def _serve_pair(self, error: SpdyStream, data: SpdyStream) -> None:
        try:
            connection_or_error = await self._connect(data.header("port") or "")
            if isinstance(connection_or_error, str):
                await error.write(connection_or_error.encode())
            else:
                await forward(connection_or_error, data, data, until_pod_closes=False)
            await data.close_write()
            await error.close_write()
        except ConnectionError:
            pass

    async def _connect(self, port_text: str) -> PortConnection | str:
        try:
            port = int(port_text)
        except ValueError:
            return f"invalid port {port_text!r}"
        problem = port_not_allowed(port, self._allowed)
        if problem is not None:
            return problem
        return await dial(self._dialer, port)


async def serve_spdy_port_forward(
    transport: ByteTransport, *, dialer: Dialer, allowed_ports: tuple[int, ...]
) -> None:
    with contextlib.suppress(ConnectionError):
        await SpdyPortForward(transport, dialer=dialer, allowed_ports=allowed_ports).serve()
