"""The snapshot's change log, which lets per-key sums follow the nodes that changed."""

from __future__ import annotations

from scheduler.framework.snapshot import CHANGE_LOG_VERSIONS, Snapshot
from tests.scheduler.builders import info, node, pod


def test_changed_since_names_the_replaced_nodes_until_the_log_no_longer_reaches() -> None:
    snapshot = Snapshot([info(node("a")), info(node("b")), info(node("c"))])
    start = snapshot.version
    snapshot.replace([info(node("a"), pod("p"))])
    snapshot.replace([info(node("b"), pod("q"))])
    assert snapshot.changed_since(start) == {"a", "b"}
    assert snapshot.changed_since(snapshot.version) == set()
    for _ in range(CHANGE_LOG_VERSIONS):
        snapshot.replace([info(node("c"))])
    assert snapshot.changed_since(start) is None


def test_a_rebuilt_snapshot_has_no_change_log_before_it() -> None:
    snapshot = Snapshot([info(node("a"))])
    before = snapshot.version
    snapshot.replace_all([info(node("a")), info(node("b"))])
    assert snapshot.changed_since(before) is None
    assert snapshot.changed_since(snapshot.version) == set()
