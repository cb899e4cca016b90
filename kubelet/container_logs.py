"""Reading a container's log for /containerLogs: tailLines, sinceSeconds/sinceTime, timestamps,
limitBytes, previous and follow, over the CRI log format reader."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from cri.crilog import ReadOptions, Renderer, follow_log, parse_timestamp, read_log

Write = Callable[[bytes], Awaitable[None]]
_TRUE = ("true", "1")


class LogRequestError(ValueError):
    """A bad query parameter (400) or a pod/container without logs (404)."""


@dataclass(frozen=True, kw_only=True)
class LogRequest:
    namespace: str
    pod: str
    container: str
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int = -1
    limit_bytes: int = -1
    since_ns: int = 0

    @classmethod
    def from_query(cls, *, namespace: str, pod: str, container: str, query: Mapping[str, str]) -> LogRequest:
        since_ns = 0
        if "sinceSeconds" in query:
            seconds = _non_negative(query, "sinceSeconds")
            if seconds == 0:
                raise LogRequestError("sinceSeconds must be greater than 0")
            since_ns = int((time.time() - seconds) * 1e9)
        if "sinceTime" in query:
            if since_ns:
                raise LogRequestError("at most one of sinceTime or sinceSeconds may be specified")
            try:
                since_ns = parse_timestamp(query["sinceTime"].encode())
            except ValueError as exc:
                raise LogRequestError(f"sinceTime {query['sinceTime']!r} is not an RFC 3339 time") from exc
        return cls(
            namespace=namespace,
            pod=pod,
            container=container,
            follow=query.get("follow", "").lower() in _TRUE,
            previous=query.get("previous", "").lower() in _TRUE,
            timestamps=query.get("timestamps", "").lower() in _TRUE,
            tail_lines=_non_negative(query, "tailLines") if "tailLines" in query else -1,
            limit_bytes=_non_negative(query, "limitBytes") if "limitBytes" in query else -1,
            since_ns=since_ns,
        )


def _non_negative(query: Mapping[str, str], name: str) -> int:
    try:
        value = int(query[name])
    except ValueError as exc:
        raise LogRequestError(f"{name} must be an integer, not {query[name]!r}") from exc
    if value < 0:
        raise LogRequestError(f"{name} must not be negative")
    return value


async def stream_container_log(
    path: str, request: LogRequest, write: Write, *, still_running: Callable[[], Awaitable[bool]]
) -> None:
    """Writes the selected records to ``write``; with ``follow``, keeps going until the container stops."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

    def sink(stream: str, data: bytes) -> None:
        loop.call_soon_threadsafe(chunks.put_nowait, data)

    options = ReadOptions(
        tail=request.tail_lines,
        limit_bytes=request.limit_bytes,
        since_ns=request.since_ns,
        timestamps=request.timestamps,
    )
    renderer = Renderer(sink, options)

    async def produce() -> None:
        try:
            if request.follow and not request.previous:
                await follow_log(path, renderer, still_running=still_running)
            else:
                await asyncio.to_thread(read_log, path, renderer)
        except FileNotFoundError:
            pass
        finally:
            loop.call_soon_threadsafe(chunks.put_nowait, None)

    producer = asyncio.create_task(produce())
    try:
        while (chunk := await chunks.get()) is not None:
            await write(chunk)
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
