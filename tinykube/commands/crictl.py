"""`tinykube crictl ...`: the crictl-compatible CLI (see ``cri.crictl``)."""

from __future__ import annotations


def main(argv: list[str]) -> int:
    from cri.crictl.app import main as crictl_main
    from tinykube.main import COMMANDS

    return crictl_main(argv, host_commands=tuple(COMMANDS))
