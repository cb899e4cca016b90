"""The CRI log format: what shims write and what crictl and the kubelet read back."""

from __future__ import annotations

import io
from typing import Any

import pytest

from cri import crilog

T0 = 1_764_000_000_123_456_789


def _written(
    chunks: list[tuple[str, bytes]], *, max_line: int = crilog.MAX_LINE, close: bool = True
) -> list[str]:
    sink = io.BytesIO()
    writer = crilog.LogWriter(sink, max_line=max_line)
    for i, (stream, data) in enumerate(chunks):
        writer.write(stream, data, T0 + i)
    if close:
        writer.close(T0 + 100)
    return sink.getvalue().decode().splitlines()


def test_each_line_becomes_a_full_record_whatever_the_chunking() -> None:
    lines = _written([("stdout", b"hel"), ("stdout", b"lo\nwor"), ("stderr", b"oops\n"), ("stdout", b"ld\n")])
    assert lines == [
        "2025-11-24T16:00:00.12345679Z stdout F hello",
        "2025-11-24T16:00:00.123456791Z stderr F oops",
        "2025-11-24T16:00:00.123456792Z stdout F world",
    ]


def test_long_lines_and_unfinished_lines_are_partial() -> None:
    lines = _written([("stdout", b"abcdefghij\n"), ("stdout", b"tail")], max_line=4)
    assert [line.split(" ", 2)[2] for line in lines] == ["P abcd", "P efgh", "F ij", "P tail"]


def test_records_parse_with_either_timestamp_style() -> None:
    containerd = crilog.parse_record(b"2025-11-24T16:00:00.5Z stdout F hi there\n")
    conmon = crilog.parse_record(b"2025-11-24T17:00:00.500000000+01:00 stderr P x")
    assert containerd == crilog.LogRecord(
        timestamp=1_764_000_000_500_000_000, stream="stdout", partial=False, content=b"hi there"
    )
    assert conmon.timestamp == containerd.timestamp and conmon.partial and conmon.stream == "stderr"
    assert crilog.parse_record(b"2025-11-24T16:00:00Z stdout F").content == b""


@pytest.mark.parametrize(
    "line",
    [
        b"garbage",
        b"2025-11-24T16:00:00Z stdin F x",
        b"2025-11-24 stdout F x",
        b"2025-11-24T16:00:00Z stdout X x",
    ],
)
def test_malformed_records_are_rejected(line: bytes) -> None:
    with pytest.raises(crilog.LogFormatError):
        crilog.parse_record(line)


def test_round_trip() -> None:
    record = crilog.LogRecord(timestamp=T0, stream="stderr", partial=True, content=b"\x00binary \xff")
    assert crilog.parse_record(crilog.format_record(record)) == record


def _read(lines: list[str], **options: Any) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    renderer = crilog.Renderer(lambda stream, data: out.append((stream, data)), crilog.ReadOptions(**options))
    for record in crilog.select(
        list(crilog.records(line.encode() + b"\n" for line in lines)), renderer.options
    ):
        renderer.render(record)
    return out


LOG = [
    "2025-11-24T16:00:01Z stdout F one",
    "2025-11-24T16:00:02Z stderr F two",
    "2025-11-24T16:00:03Z stdout P thr",
    "2025-11-24T16:00:03Z stdout F ee",
    "not a record",
    "2025-11-24T16:00:04Z stdout F four",
]


def test_reading_renders_lines_as_written_and_skips_junk() -> None:
    assert _read(LOG) == [
        ("stdout", b"one\n"),
        ("stderr", b"two\n"),
        ("stdout", b"thr"),
        ("stdout", b"ee\n"),
        ("stdout", b"four\n"),
    ]


def test_tail_counts_whole_lines() -> None:
    assert _read(LOG, tail=2) == [("stdout", b"thr"), ("stdout", b"ee\n"), ("stdout", b"four\n")]
    assert _read(LOG, tail=0) == []
    assert len(_read(LOG, tail=99)) == 5


def test_since_streams_timestamps_and_byte_limit() -> None:
    assert _read(
        LOG,
        since_ns=crilog.parse_timestamp(b"2025-11-24T16:00:03Z"),
        streams=frozenset({"stdout"}),
        timestamps=True,
    ) == [
        ("stdout", b"2025-11-24T16:00:03Z thr"),
        ("stdout", b"2025-11-24T16:00:03Z ee\n"),
        ("stdout", b"2025-11-24T16:00:04Z four\n"),
    ]
    assert _read(LOG, limit_bytes=6) == [("stdout", b"one\n"), ("stderr", b"tw")]
    assert _read(LOG, streams=frozenset({"stderr"})) == [("stderr", b"two\n")]
