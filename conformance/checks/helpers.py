"""Small pieces the checks share: shell in a container, id and timestamp shapes, host-side HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from pathlib import Path

from cri.client import CRIClient

HEX64 = re.compile(r"[0-9a-f]{64}")
NAMESPACE_LINK = re.compile(r"(cgroup|ipc|mnt|net|pid|time|user|uts):\[[0-9]+\]")
NS_2001 = 10**18  # any plausible nanosecond timestamp is larger


async def sh(cri: CRIClient, container_id: str, script: str, *, timeout: int = 20) -> str:
    """Run ``sh -c script`` in the container; its stdout, stripped (fails on a non-zero exit)."""
    result = await cri.exec_sync(container_id, ["sh", "-c", script], exec_timeout=timeout)
    assert result.exit_code == 0, f"{script!r} exited {result.exit_code}: {result.stderr!r}"
    return result.stdout.decode().strip()


async def exit_code(cri: CRIClient, container_id: str, script: str) -> int:
    result = await cri.exec_sync(container_id, ["sh", "-c", script], exec_timeout=20)
    return result.exit_code


async def namespace_of(cri: CRIClient, container_id: str, kind: str) -> str:
    """The container's ``kind`` namespace as /proc names it (``net:[4026531840]``), proven to be one."""
    link = await sh(cri, container_id, f"readlink /proc/self/ns/{kind}")
    assert NAMESPACE_LINK.fullmatch(link) and link.startswith(f"{kind}:"), f"not a {kind} namespace: {link!r}"
    return link


def proc_status_field(text: str, name: str) -> str:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise AssertionError(f"{name} missing from /proc/self/status")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a hostPort)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def http_get(host: str, port: int) -> str | None:
    """The whole reply to ``GET /`` over HTTP/1.0, or None while nothing answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.read(), 5)).decode(errors="replace")
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()


async def rotate_log(cri: CRIClient, container_id: str, path: Path) -> Path:
    """What the kubelet's log rotation does: rename the log, then ReopenContainerLog. The old file."""
    rotated = path.with_suffix(".rotated")
    await asyncio.to_thread(os.rename, path, rotated)
    await cri.reopen_container_log(container_id)
    return rotated
