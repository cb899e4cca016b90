"""`tinykube version`."""

from __future__ import annotations

from tinykube import __version__


def main(argv: list[str]) -> int:
    print(f"tinykube {__version__}")
    return 0
