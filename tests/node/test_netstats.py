"""Pod network counters parsed from /proc/<pid>/net/dev."""

from __future__ import annotations

from pathlib import Path

from shims.node.netstats import parse_net_dev, read_netns_usage

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0:    5000      40    1    0    0     0          0         0     7000      50    3    0    0     0       0          0
"""  # noqa: E501 (a verbatim /proc/net/dev)


def test_eth0_is_the_default_interface_and_loopback_is_left_out() -> None:
    usage = parse_net_dev(NET_DEV, timestamp=7)
    assert [i.name for i in usage.interfaces] == ["eth0"]
    eth0 = usage.default_interface
    assert eth0 is not None
    assert (eth0.rx_bytes, eth0.rx_errors, eth0.tx_bytes, eth0.tx_errors) == (5000, 1, 7000, 3)
    assert usage.timestamp == 7


def test_a_netns_that_is_gone_has_no_counters(tmp_path: Path) -> None:
    unpinned = tmp_path / "net"
    unpinned.write_text("")  # what a stopped pod's pin file is once unmounted
    assert read_netns_usage(str(unpinned)) is None
    assert read_netns_usage(str(tmp_path / "missing")) is None
