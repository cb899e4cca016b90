"""The etcd backend keeps working when one of three members (the leader) is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from api.storage.errors import KeyExists, Unavailable
from api.storage.etcd import EtcdOptions, EtcdStore
from api.storage.keys import prefix_end
from api.storage.types import KeyValue
from tests.storage.clusters import EtcdCluster, etcd_cluster
from tests.storage.watching import next_events

pytestmark = pytest.mark.integration
ELECTION_ATTEMPTS = 20


async def _create_through_election(store: EtcdStore, key: bytes) -> KeyValue:
    """What a caller does with Unavailable: try again. A retried create whose first try did commit finds
    its own value (KeyExists), which is success too."""
    for _ in range(ELECTION_ATTEMPTS):
        try:
            return await store.create(key, b"v")
        except Unavailable:
            continue
        except KeyExists:
            kv = (await store.get(key)).kv
            assert kv is not None and kv.value == b"v"
            return kv
    raise AssertionError(f"no write of {key!r} succeeded in {ELECTION_ATTEMPTS} tries")


def _leader_index(cluster: EtcdCluster) -> int:
    done = subprocess.run(
        ["etcdctl", "--endpoints", ",".join(cluster.endpoints), "endpoint", "status", "-w", "json"],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "ETCDCTL_API": "3"},
        check=True,
    )
    statuses = json.loads(done.stdout)
    for index, status in enumerate(statuses):
        if status["Status"]["header"]["member_id"] == status["Status"]["leader"]:
            return index
    raise AssertionError(f"no leader among {statuses}")


async def test_writes_reads_and_watches_survive_losing_the_leader(tmp_path: Path) -> None:
    with etcd_cluster(tmp_path / "etcd") as cluster:
        async with EtcdStore(EtcdOptions(endpoints=cluster.endpoints, timeout=15)) as store:
            before = [await store.create(b"/failover/%03d" % i, b"v") for i in range(20)]
            # From the revision after our last write: a watch "from now" starts at the serving
            # member's revision, which on a follower may still be before that write.
            start = before[-1].mod_revision + 1
            prefix = b"/failover/"
            watch = await store.watch(prefix, range_end=prefix_end(prefix), start_revision=start)
            try:
                leader = _leader_index(cluster)
                os.kill(cluster.member_pid(leader), signal.SIGKILL)
                after = [await _create_through_election(store, b"/failover/%03d" % i) for i in range(20, 40)]
                events = await next_events(watch, 20, timeout=30)
            finally:
                await watch.close()
            assert [e.kv for e in events] == after
            listed = await store.list(b"/failover/")
            assert list(listed.kvs) == before + after
            assert await asyncio.wait_for(store.count(b"/failover/"), 15) == 40
