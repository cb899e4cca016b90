"""The terminal side of exec -it and attach: raw mode, window sizes, detach keys."""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from collections.abc import Iterator

import pytest

from cri.crictl.stream_client import DetachFilter, outcome_of_status, raw_terminal, terminal_size


@pytest.fixture
def pty() -> Iterator[int]:
    controller, terminal = os.openpty()
    try:
        yield terminal
    finally:
        os.close(controller)
        os.close(terminal)


def test_terminal_size_is_width_then_height(pty: int) -> None:
    fcntl.ioctl(pty, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 101, 0, 0))
    assert terminal_size(pty) == (101, 37)


def test_raw_mode_lasts_for_the_session_only(pty: int) -> None:
    cooked = termios.tcgetattr(pty)
    with raw_terminal(pty):
        flags = termios.tcgetattr(pty)[3]
        assert not flags & termios.ICANON and not flags & termios.ECHO
    assert termios.tcgetattr(pty) == cooked


def test_pipes_are_left_alone() -> None:
    read_end, write_end = os.pipe()
    try:
        with raw_terminal(read_end):
            pass
        assert terminal_size(read_end) is None
    finally:
        os.close(read_end)
        os.close(write_end)


def test_detach_keys_are_swallowed_even_across_reads() -> None:
    keys = DetachFilter()
    assert keys.feed(b"abc\x10") == (b"abc", False)
    assert keys.feed(b"\x11rest") == (b"", True)
    assert DetachFilter().feed(b"\x10x") == (b"\x10x", False)


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (b'{"metadata":{},"status":"Success"}', None, 0),
        (
            b'{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
            "command terminated with exit code 3",
            3,
        ),
        (b'{"status":"Failure","message":"container not running"}', "container not running", 1),
        (b"plain text", "plain text", 1),
    ],
)
def test_the_error_channel_status_decides_the_outcome(status: bytes, error: str | None, code: int) -> None:
    outcome = outcome_of_status(status)
    assert (outcome.error, outcome.exit_code) == (error, code)
