"""Network interface counters of a pod: ``/proc/net/dev`` read inside its netns (or by a process in it)."""

from __future__ import annotations

import ctypes
import os
import threading
import time

from cri import domain as d

DEFAULT_INTERFACE = "eth0"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def parse_net_dev(text: str, *, timestamp: int) -> d.NetworkUsage:
    """``/proc/net/dev`` text → usage per interface (loopback left out), eth0 as the default."""
    interfaces = []
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if len(fields) < 11 or name.strip() == "lo":
            continue
        interfaces.append(
            d.NetworkInterfaceUsage(
                name=name.strip(),
                rx_bytes=int(fields[0]),
                rx_errors=int(fields[2]),
                tx_bytes=int(fields[8]),
                tx_errors=int(fields[10]),
            )
        )
    default = next(
        (i for i in interfaces if i.name == DEFAULT_INTERFACE), interfaces[0] if interfaces else None
    )
    return d.NetworkUsage(timestamp=timestamp, default_interface=default, interfaces=tuple(interfaces))


def read_network_usage(pid: int) -> d.NetworkUsage | None:
    """Blocking: the counters seen by process ``pid``; None when it is gone."""
    try:
        with open(f"/proc/{pid}/net/dev") as net_dev:
            text = net_dev.read()
    except OSError:
        return None
    return parse_net_dev(text, timestamp=time.time_ns())


def read_netns_usage(netns: str) -> d.NetworkUsage | None:
    """Blocking: the counters inside the pinned network namespace ``netns``; None when it is gone.

    A thread of its own enters the namespace, so no other code ever runs in it.
    """
    found: list[d.NetworkUsage | None] = [None]

    def read() -> None:
        found[0] = _read_inside(netns)

    thread = threading.Thread(target=read, name="netns-stats", daemon=True)
    thread.start()
    thread.join()
    return found[0]


def _read_inside(netns: str) -> d.NetworkUsage | None:
    try:
        with open(netns, "rb") as target, open("/proc/thread-self/ns/net", "rb") as home:
            _setns(target.fileno())
            try:
                with open("/proc/thread-self/net/dev") as net_dev:
                    text = net_dev.read()
            finally:
                _setns(home.fileno())
    except OSError:
        return None
    return parse_net_dev(text, timestamp=time.time_ns())


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")
