"""Dial localhost:PORT inside a network namespace (the pod's), from a process outside it.

Python 3.11 has no ``os.setns``; a dedicated thread enters the namespace with libc ``setns``,
creates and connects the socket there (a socket keeps the namespace it was created in), then
returns to its original namespace before it ends.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from pathlib import Path

from cri.streaming.backend import PortConnection

CLONE_NEWNET = 0x40000000
DIAL_TIMEOUT_SECONDS = 10.0
LOCALHOSTS = ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"))

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def connect_localhost(port: int, *, timeout: float = DIAL_TIMEOUT_SECONDS) -> socket.socket:
    """Connect to localhost:port in the current namespace: tcp4 first, then tcp6."""
    errors: list[str] = []
    for family, address in LOCALHOSTS:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            errors.append(f"dial tcp {_host_port(address, port)}: {exc.strerror or exc}")
            continue
        sock.setblocking(False)
        return sock
    raise ConnectionRefusedError(f"failed to connect to localhost:{port}: {'; '.join(errors)}")


def connect_in_netns(netns_path: Path, port: int) -> socket.socket:
    """Blocking; must run on a thread of its own (it switches that thread's namespace)."""
    with (
        open(netns_path, "rb") as target,
        open(f"/proc/self/task/{threading.get_native_id()}/ns/net", "rb") as home,
    ):
        _setns(target.fileno())
        try:
            return connect_localhost(port)
        finally:
            _setns(home.fileno())


async def dial_in_netns(netns_path: Path, port: int) -> PortConnection:
    sock = await _on_dedicated_thread(netns_path, port)
    reader, writer = await asyncio.open_connection(sock=sock)
    return PortConnection(reader=reader, writer=writer)


async def dial_localhost(port: int) -> PortConnection:
    """The same dial without a namespace switch (host network pods, tests)."""
    sock = await asyncio.to_thread(connect_localhost, port)
    reader, writer = await asyncio.open_connection(sock=sock)
    return PortConnection(reader=reader, writer=writer)


async def _on_dedicated_thread(netns_path: Path, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    result: asyncio.Future[socket.socket] = loop.create_future()

    def dial() -> None:
        try:
            sock = connect_in_netns(netns_path, port)
        except BaseException as exc:
            loop.call_soon_threadsafe(_fail, result, exc)
        else:
            loop.call_soon_threadsafe(_succeed, result, sock)

    threading.Thread(target=dial, name=f"netns-dial-{port}", daemon=True).start()
    return await result


def _succeed(future: asyncio.Future[socket.socket], sock: socket.socket) -> None:
    if future.cancelled():
        sock.close()
    else:
        future.set_result(sock)


def _fail(future: asyncio.Future[socket.socket], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
