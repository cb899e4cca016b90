"""The process the crash test kills: several writers against one SQLiteStore, printing each
acknowledged write as "ACK <key> <revision>" (and "PAIR <key-a> <key-b> <revision>" for two-key
transactions) only after the store has acknowledged it.

    python -m tests.storage.crash_child DB_PATH INCARNATION WRITERS
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path

from api.storage.sqlite import SQLiteOptions, SQLiteStore
from api.storage.types import Compare, CompareResult, CompareTarget, Put, Txn

PAIR_EVERY = 10


def value_for(key: bytes) -> bytes:
    digest = hashlib.sha256(key).digest()
    size = 64 + int.from_bytes(digest[:2], "big") % 2048
    return (digest * (size // len(digest) + 1))[:size]


def _absent(key: bytes) -> Compare:
    return Compare(key, CompareTarget.MOD, CompareResult.EQUAL, 0)


async def _writer(store: SQLiteStore, incarnation: str, writer: int) -> None:
    for seq in range(sys.maxsize):
        key = f"/crash/{incarnation}/{writer}/{seq:08}".encode()
        if seq % PAIR_EVERY == 0:
            first, second = key + b"/a", key + b"/b"
            result = await store.txn(
                Txn(
                    compares=(_absent(first), _absent(second)),
                    success=(Put(first, value_for(first)), Put(second, value_for(second))),
                )
            )
            assert result.succeeded
            line = f"PAIR {first.decode()} {second.decode()} {result.revision}\n"
        else:
            created = await store.create(key, value_for(key))
            line = f"ACK {key.decode()} {created.mod_revision}\n"
        sys.stdout.write(line)
        sys.stdout.flush()


async def main(path: Path, incarnation: str, writers: int) -> None:
    async with SQLiteStore(path, SQLiteOptions(maintain=False)) as store:
        await asyncio.gather(*(_writer(store, incarnation, w) for w in range(writers)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
