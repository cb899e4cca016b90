"""Checks on subcommand arguments that argparse cannot express, failing as crictl does."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cri.crictl.cli import UsageError
from cri.crictl.session import CommandError


def usage(args: argparse.Namespace, message: str) -> UsageError:
    parser: argparse.ArgumentParser = args.command_parser
    return UsageError(message, parser.format_help())


def require_ids(args: argparse.Namespace, ids: Sequence[str], what: str) -> list[str]:
    if not ids:
        raise usage(args, f"{what} cannot be empty")
    return list(ids)


def parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    """``--label key=value`` flags as a selector."""
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"incorrectly specified label: {pair}")
        labels[key] = value
    return labels


def check_output(output: str, allowed: Sequence[str]) -> str:
    if output not in allowed:
        raise CommandError(f"unsupported output format {output!r}: use one of {', '.join(allowed)}")
    return output


def call_timeout(text: str, *, default: float) -> float:
    """A ``--cancel-timeout``/``--pull-timeout`` value in seconds; 0 means ``default``."""
    from cri.crictl.config import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return seconds if seconds > 0 else default
