"""Crash safety of the SQLite backend: writers are SIGKILLed at random moments; after each restart every
acknowledged write is there with its revision, and nothing unacknowledged is there half-made.

Rounds: TINYKUBE_CRASH_ROUNDS (default 3; the acceptance run uses 20). Writes per round:
TINYKUBE_CRASH_WRITES (default 10,000), in several incarnations killed after a random number of acks.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from api.storage.sqlite import SQLiteOptions, SQLiteStore
from tests.storage.clusters import REPO
from tests.storage.crash_child import value_for

ROUNDS = int(os.environ.get("TINYKUBE_CRASH_ROUNDS", "3"))
WRITES_PER_ROUND = int(os.environ.get("TINYKUBE_CRASH_WRITES", "10000"))
WRITERS = 4
KILLS_PER_ROUND = 4
ACK_TIMEOUT = 60.0


@dataclass
class Acked:
    revisions: dict[bytes, int] = field(default_factory=dict)
    pairs: list[tuple[bytes, bytes]] = field(default_factory=list)

    def record(self, line: str) -> None:
        parts = line.split()
        if parts[0] == "ACK":
            self.revisions[parts[1].encode()] = int(parts[2])
        elif parts[0] == "PAIR":
            first, second = parts[1].encode(), parts[2].encode()
            self.revisions[first] = self.revisions[second] = int(parts[3])
            self.pairs.append((first, second))


async def _run_and_kill(db: Path, incarnation: str, kill_after: int, acked: Acked) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.storage.crash_child",
        str(db),
        incarnation,
        str(WRITERS),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert child.stdout is not None
    seen = 0
    try:
        async with asyncio.timeout(ACK_TIMEOUT):
            while seen < kill_after:
                line = await child.stdout.readline()
                assert line, f"the writer exited early with {await child.wait()}"
                acked.record(line.decode())
                seen += 1
    finally:
        child.send_signal(signal.SIGKILL)
        # Complete lines already in the pipe were acknowledged before the kill: they count too.
        for complete in (await child.stdout.read()).decode().split("\n")[:-1]:
            acked.record(complete)
        await child.wait()


async def _verify(db: Path, acked: Acked) -> int:
    async with SQLiteStore(db, SQLiteOptions(maintain=False)) as store:
        current = await store.current_revision()
        for key, revision in acked.revisions.items():
            kv = (await store.get(key)).kv
            assert kv is not None, f"acknowledged write {key!r} at revision {revision} is missing"
            assert kv.mod_revision == revision, (
                f"{key!r}: revision {kv.mod_revision}, acknowledged {revision}"
            )
            assert kv.value == value_for(key)
        stored = await store.list(b"/crash/")
        by_key = {kv.key: kv for kv in stored.kvs}
        for kv in stored.kvs:
            assert kv.value == value_for(kv.key), f"{kv.key!r} is stored half-made"
            assert kv.mod_revision <= current
            if kv.key.endswith(b"/a"):
                partner = by_key.get(kv.key[:-1] + b"b")
                assert partner is not None and partner.mod_revision == kv.mod_revision, (
                    "a transaction half-applied"
                )
        revisions = sorted({kv.mod_revision for kv in stored.kvs})
        assert len(revisions) == len(stored.kvs) - sum(1 for k in by_key if k.endswith(b"/b"))
        return stored.count


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("round_number", range(ROUNDS))
async def test_acknowledged_writes_survive_sigkill(tmp_path: Path, round_number: int) -> None:
    rng = random.Random(round_number)
    db = tmp_path / "state.db"
    acked = Acked()
    incarnation = 0
    while len(acked.revisions) < WRITES_PER_ROUND:
        remaining = WRITES_PER_ROUND - len(acked.revisions)
        kill_after = remaining if incarnation >= KILLS_PER_ROUND else rng.randint(1, max(1, remaining // 2))
        await _run_and_kill(db, f"i{incarnation}", kill_after, acked)
        stored = await _verify(db, acked)
        assert stored >= len(acked.revisions)
        incarnation += 1
    assert incarnation >= 2
