"""`tinykube conformance --endpoint URL`: the CRI conformance suite (see ``conformance.runner``)."""

from __future__ import annotations

from conformance.runner import main as run_main


def main(argv: list[str]) -> int:
    return run_main(argv)
