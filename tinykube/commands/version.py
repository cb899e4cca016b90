"""`tinykube version`."""

from __future__ import annotations

import argparse

from tinykube import __version__


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tinykube version", description="Print the tinykube version.")
    parser.parse_args(argv)
    print(f"tinykube {__version__}")
    return 0
