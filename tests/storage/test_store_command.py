"""`tinykube store serve` refuses bad addresses with a message naming the problem."""

from __future__ import annotations

import argparse

import pytest

from tinykube.commands.store import listen_address, main


@pytest.mark.parametrize("text", ["127.0.0.1:2379", "127.0.0.1:0", "[::1]:2379", "localhost:2379"])
def test_listen_accepts_loopback_addresses(text: str) -> None:
    assert listen_address(text) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nonsense", "not host:port"),
        ("127.0.0.1:99999", "port in 0..65535"),
        ("127.0.0.1:http", "not host:port"),
        ("example.com:2379", "is not an IP address"),
    ],
)
def test_listen_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=problem):
        listen_address(text)


def test_serve_exits_with_usage_error_on_a_bad_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--listen", "127.0.0.1:99999"])
    assert exited.value.code == 2
    assert "127.0.0.1:99999" in capsys.readouterr().err
