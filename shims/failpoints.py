"""Faults a test switches on to break a shim on purpose and prove a suite notices.

Off unless the environment variable ``TINYKUBE_FAILPOINTS`` names them (comma-separated), so a
shim started without it never fails here. Each failpoint sits at one place in a shim's code.
"""

from __future__ import annotations

import os

from cri.errors import Internal

ENV = "TINYKUBE_FAILPOINTS"
KNOWN = frozenset({"runc.exec_sync"})


def enabled() -> frozenset[str]:
    names = frozenset(filter(None, os.environ.get(ENV, "").split(",")))
    unknown = sorted(names - KNOWN)
    if unknown:
        raise ValueError(f"{ENV}: unknown failpoints {', '.join(unknown)}; known: {', '.join(sorted(KNOWN))}")
    return names


def hit(name: str) -> None:
    """Raise INTERNAL at failpoint ``name`` when it is enabled."""
    if name in enabled():
        raise Internal(f"failpoint {name} is enabled ({ENV})")
