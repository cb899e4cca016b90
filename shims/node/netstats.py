"""Network interface counters of a pod, from ``/proc/<pid>/net/dev`` of a process in its netns."""

from __future__ import annotations

import time

from cri import domain as d

DEFAULT_INTERFACE = "eth0"


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
