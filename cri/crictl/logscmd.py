"""logs: read the container's CRI log file on this host, as ``crictl logs`` does."""

from __future__ import annotations

import argparse
import os

from cri import crilog
from cri import domain as d
from cri.crictl.config import parse_duration
from cri.crictl.session import CommandError, Session, context, quote


def previous_log_path(log_path: str, attempt: int, name: str) -> str:
    """The previous attempt's file beside this one: ``.../<attempt-1>.log``."""
    if attempt == 0:
        raise CommandError(f"previous terminated container {name} not found")
    directory = log_path[: log_path.rfind("/") + 1]
    extension = log_path[log_path.rfind(".") :] if "." in os.path.basename(log_path) else ""
    return f"{directory}{attempt - 1}{extension}"


def since_ns(text: str, now_ns: int) -> int:
    """``--since``: an RFC 3339 time or a duration back from now (``42m``)."""
    if not text:
        return 0
    try:
        return crilog.parse_timestamp(text.encode())
    except crilog.LogFormatError:
        pass
    try:
        return now_ns - int(parse_duration(text) * 1e9)
    except ValueError:
        raise CommandError(
            f"invalid --since {quote(text)}: use RFC3339 time or a duration like 42m"
        ) from None


async def logs(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    if args.reopen:
        with context(f"reopen container log for {quote(args.container)}"):
            await client.reopen_container_log(args.container)
    with context(f"getting the status of the container {quote(args.container)}"):
        status = (await client.container_status(args.container)).status or d.ContainerStatus()
    log_path = status.log_path
    if not log_path:
        raise CommandError("the container has not set log path")
    if args.previous:
        meta = status.metadata or d.ContainerMetadata()
        log_path = previous_log_path(log_path, meta.attempt, meta.name)
    streams = frozenset({args.stream}) if args.stream else frozenset({crilog.STDOUT, crilog.STDERR})
    options = crilog.ReadOptions(
        streams=streams,
        since_ns=since_ns(args.since, session.now_ns()),
        tail=args.tail,
        limit_bytes=args.limit_bytes,
        timestamps=args.timestamps,
    )
    renderer = crilog.Renderer(session.write_stream, options)
    try:
        if args.follow:

            async def still_running() -> bool:
                current = (await client.container_status(status.id)).status
                return current is not None and current.state == d.ContainerState.CONTAINER_RUNNING

            await crilog.follow_log(log_path, renderer, still_running=still_running)
        else:
            crilog.read_log(log_path, renderer)
    except OSError as exc:
        raise CommandError(f"failed to open log file {quote(log_path)}: {exc.strerror or exc}") from None
    return 0
