"""Small pieces the checks share: shell in a container, id and timestamp shapes."""

from __future__ import annotations

import re

from cri.client import CRIClient

HEX64 = re.compile(r"[0-9a-f]{64}")
NS_2001 = 10**18  # any plausible nanosecond timestamp is larger


async def sh(cri: CRIClient, container_id: str, script: str, *, timeout: int = 20) -> str:
    """Run ``sh -c script`` in the container; its stdout, stripped (fails on a non-zero exit)."""
    result = await cri.exec_sync(container_id, ["sh", "-c", script], exec_timeout=timeout)
    assert result.exit_code == 0, f"{script!r} exited {result.exit_code}: {result.stderr!r}"
    return result.stdout.decode().strip()


async def exit_code(cri: CRIClient, container_id: str, script: str) -> int:
    result = await cri.exec_sync(container_id, ["sh", "-c", script], exec_timeout=20)
    return result.exit_code


def proc_status_field(text: str, name: str) -> str:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise AssertionError(f"{name} missing from /proc/self/status")
