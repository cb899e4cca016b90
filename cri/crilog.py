"""The CRI container log format: ``<RFC3339Nano> <stdout|stderr> <F|P> <text>\\n``, read and written.

Writers (shims) turn a container's output into records: one ``F`` record per line, ``P`` records for
pieces of a line longer than 16 KiB or for a stream that ends without a newline. Readers (crictl,
the kubelet) parse records, select them (streams, ``since``, ``tail``, a byte limit) and render them
as the container wrote them, optionally with timestamps, and can follow a growing file.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

STDOUT, STDERR = "stdout", "stderr"
FULL, PARTIAL = "F", "P"
MAX_LINE = 16 * 1024
_TIMESTAMP = re.compile(
    rb"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


class LogFormatError(ValueError):
    """A line that is not a CRI log record."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LogRecord:
    timestamp: int  # ns since the epoch
    stream: str
    partial: bool
    content: bytes  # without the record's trailing newline


def parse_timestamp(text: bytes) -> int:
    """RFC 3339 with up to nine fractional digits, ``Z`` or a numeric offset, as ns."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise LogFormatError(f"invalid timestamp {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or b"", match.group(8)
    offset = 0
    if zone != b"Z":
        sign = -1 if zone.startswith(b"-") else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
    seconds = int(moment.timestamp()) - offset
    return seconds * 1_000_000_000 + int(fraction.ljust(9, b"0") or b"0")


def format_timestamp(ns: int) -> str:
    """RFC3339Nano in UTC, as containerd writes it (trailing zeros of the fraction dropped)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    text = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def parse_record(line: bytes) -> LogRecord:
    """One line of a CRI log file (with or without its newline)."""
    line = line.removesuffix(b"\n")
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        raise LogFormatError(f"not a CRI log record: {line[:80]!r}")
    stream = parts[1].decode(errors="replace")
    if stream not in (STDOUT, STDERR):
        raise LogFormatError(f"unknown stream type {stream!r}")
    tag = parts[2]
    if tag not in (b"F", b"P"):
        raise LogFormatError(f"unknown log tag {tag!r}")
    return LogRecord(
        timestamp=parse_timestamp(parts[0]),
        stream=stream,
        partial=tag == b"P",
        content=parts[3] if len(parts) == 4 else b"",
    )


def format_record(record: LogRecord) -> bytes:
    tag = PARTIAL if record.partial else FULL
    head = f"{format_timestamp(record.timestamp)} {record.stream} {tag} ".encode()
    return head + record.content + b"\n"


# writing


@dataclass
class LogWriter:
    """Turns chunks of one container's output into CRI records on ``sink``.

    ``write(stream, data, now_ns)`` may get any chunking; ``close(now_ns)`` ends every stream and
    writes what is left of an unfinished line as a partial record.
    """

    sink: BinaryIO
    max_line: int = MAX_LINE
    _pending: dict[str, bytearray] = field(default_factory=dict)

    def write(self, stream: str, data: bytes, now_ns: int) -> None:
        buffer = self._pending.setdefault(stream, bytearray())
        buffer += data
        while True:
            newline = buffer.find(b"\n")
            if newline != -1 and newline <= self.max_line:
                self._emit(stream, bytes(buffer[:newline]), now_ns, partial=False)
                del buffer[: newline + 1]
            elif len(buffer) > self.max_line or (newline != -1 and newline > self.max_line):
                self._emit(stream, bytes(buffer[: self.max_line]), now_ns, partial=True)
                del buffer[: self.max_line]
            else:
                break
        self.sink.flush()

    def close(self, now_ns: int) -> None:
        for stream, buffer in self._pending.items():
            if buffer:
                self._emit(stream, bytes(buffer), now_ns, partial=True)
                buffer.clear()
        self.sink.flush()

    def _emit(self, stream: str, content: bytes, now_ns: int, *, partial: bool) -> None:
        record = LogRecord(timestamp=now_ns, stream=stream, partial=partial, content=content)
        self.sink.write(format_record(record))


# reading


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """What ``crictl logs`` / ``kubectl logs`` select: negative tail and limit mean all."""

    streams: frozenset[str] = frozenset({STDOUT, STDERR})
    since_ns: int = 0
    tail: int = -1
    limit_bytes: int = -1
    timestamps: bool = False


Sink = Callable[[str, bytes], None]


def records(lines: Iterable[bytes]) -> Iterator[LogRecord]:
    """Parse lines, skipping ones that are not records (as the kubelet does, with no output)."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield parse_record(line)
        except LogFormatError:
            continue


def select(all_records: list[LogRecord], options: ReadOptions) -> list[LogRecord]:
    """Records of the wanted streams since ``since_ns``, the last ``tail`` lines of them."""
    chosen = [r for r in all_records if r.stream in options.streams and r.timestamp >= options.since_ns]
    if options.tail < 0:
        return chosen
    if options.tail == 0:
        return []
    ends = [i for i, r in enumerate(chosen) if not r.partial]
    if len(ends) <= options.tail:
        return chosen
    return chosen[ends[-options.tail - 1] + 1 :]


class Renderer:
    """Writes records to a sink as the container printed them, honouring the byte limit."""

    def __init__(self, sink: Sink, options: ReadOptions) -> None:
        self.sink = sink
        self.options = options
        self.remaining = options.limit_bytes

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    def render(self, record: LogRecord) -> None:
        if self.exhausted or record.stream not in self.options.streams:
            return
        if record.timestamp < self.options.since_ns:
            return
        data = record.content if record.partial else record.content + b"\n"
        if self.options.timestamps:
            data = format_timestamp(record.timestamp).encode() + b" " + data
        if self.remaining >= 0:
            data = data[: self.remaining]
            self.remaining -= len(data)
        self.sink(record.stream, data)


def read_log(path: str, renderer: Renderer) -> int:
    """Render the selected records of the file at ``path``; returns the offset read up to."""
    with open(path, "rb") as log_file:
        data = log_file.read()
    complete = data[: data.rfind(b"\n") + 1]
    for record in select(list(records(complete.splitlines(keepends=True))), renderer.options):
        renderer.render(record)
    return len(complete)


async def follow_log(
    path: str,
    renderer: Renderer,
    *,
    still_running: Callable[[], Awaitable[bool]],
    poll_interval: float = 0.2,
) -> None:
    """``read_log``, then keep rendering new records until the container stops running.

    A rotated file (the path now names another inode) is followed at its new incarnation.
    """
    inode = os.stat(path).st_ino
    offset = await asyncio.to_thread(read_log, path, renderer)
    while not renderer.exhausted:
        offset, inode, grew = await asyncio.to_thread(_drain, path, offset, inode, renderer)
        if grew:
            continue
        if not await still_running():
            await asyncio.to_thread(_drain, path, offset, inode, renderer)
            return
        await asyncio.sleep(poll_interval)


def _drain(path: str, offset: int, inode: int, renderer: Renderer) -> tuple[int, int, bool]:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return offset, inode, False
    if current.st_ino != inode or current.st_size < offset:
        offset, inode = 0, current.st_ino
    with open(path, "rb") as log_file:
        log_file.seek(offset)
        data = log_file.read()
    complete = data[: data.rfind(b"\n") + 1]
    for record in records(complete.splitlines(keepends=True)):
        renderer.render(record)
    return offset + len(complete), inode, bool(complete)
