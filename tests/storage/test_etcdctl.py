"""etcdctl, unchanged, against `tinykube store serve` (integration: needs the etcdctl binary)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.storage.clusters import REPO

pytestmark = pytest.mark.integration
TIMEOUT = 20.0


class Served:
    def __init__(self, address: str) -> None:
        self.address = address

    def etcdctl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = ["etcdctl", "--endpoints", self.address, "--command-timeout", "10s", *args]
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env={**os.environ, "ETCDCTL_API": "3"},
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {done.stderr}")
        return done

    def json(self, *args: str) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.etcdctl(*args, "-w", "json").stdout)
        return parsed


class LineReader:
    """Lines of a child's stdout with a deadline (select on the raw fd, so no line hides in a buffer)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._fd = process.stdout.fileno()
        self._buffer = b""

    def line(self, deadline: float) -> str:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no complete line before the deadline (got {self._buffer!r})")
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise AssertionError(f"output ended (got {self._buffer!r})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    command = [sys.executable, "-m", "tinykube.main", "store", "serve", "--listen", "127.0.0.1:0"]
    with subprocess.Popen([*command, "--data", str(tmp_path)], stdout=subprocess.PIPE, cwd=REPO) as server:
        try:
            line = LineReader(server).line(time.monotonic() + TIMEOUT)
            assert "serving etcd v3 on" in line, line
            yield Served(line.rsplit(" ", 1)[1].strip())
        finally:
            server.terminate()
            server.wait(timeout=TIMEOUT)


def test_put_get_and_delete(served: Served) -> None:
    assert served.etcdctl("put", "/registry/pods/a", "1").stdout.strip() == "OK"
    served.etcdctl("put", "/registry/pods/b", "2")
    served.etcdctl("put", "/registry/services/a", "3")
    assert served.etcdctl("get", "/registry/pods/", "--prefix").stdout.split() == [
        "/registry/pods/a",
        "1",
        "/registry/pods/b",
        "2",
    ]
    keys = served.etcdctl("get", "/registry/", "--prefix", "--keys-only").stdout.split()
    assert keys == ["/registry/pods/a", "/registry/pods/b", "/registry/services/a"]
    limited = served.json("get", "/registry/", "--prefix", "--limit", "1")
    assert limited["count"] == 3 and limited["more"] is True and len(limited["kvs"]) == 1  # type: ignore[arg-type]
    assert served.etcdctl("del", "/registry/pods/", "--prefix").stdout.strip() == "2"
    assert served.etcdctl("get", "/registry/pods/", "--prefix").stdout == ""


def test_get_at_a_revision_and_after_compaction(served: Served) -> None:
    first = served.json("put", "k", "old")["header"]["revision"]  # type: ignore[index]
    served.etcdctl("put", "k", "new")
    assert served.etcdctl("get", "k", f"--rev={first}", "--print-value-only").stdout.strip() == "old"
    latest = served.json("get", "k")["header"]["revision"]  # type: ignore[index]
    assert served.etcdctl("compaction", str(latest)).stdout.strip() == f"compacted revision {latest}"
    failed = served.etcdctl("get", "k", f"--rev={first}", check=False)
    assert failed.returncode != 0
    assert "required revision has been compacted" in failed.stderr
    watched = served.etcdctl("watch", "k", f"--rev={first}", check=False)
    assert "watch was canceled (etcdserver: mvcc: required revision has been compacted)" in watched.stderr


def test_txn_with_mod_revision_compare(served: Served) -> None:
    revision = served.json("put", "cas", "v1")["header"]["revision"]  # type: ignore[index]
    script = f'mod("cas") = "{revision}"\n\nput cas v2\n\nget cas\n\n'
    assert served.etcdctl("txn", stdin=script).stdout.split()[0] == "SUCCESS"
    stale = served.etcdctl("txn", stdin=script).stdout.split()
    assert stale == ["FAILURE", "cas", "v2"]
    assert served.etcdctl("get", "cas", "--print-value-only").stdout.strip() == "v2"


def test_watch_replays_from_a_revision_then_follows(served: Served) -> None:
    start = served.json("put", "w", "1")["header"]["revision"]  # type: ignore[index]
    served.etcdctl("put", "w", "2")
    environment = {**os.environ, "ETCDCTL_API": "3"}
    command = ["etcdctl", "--endpoints", served.address, "watch", "w", "--rev", str(start)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, env=environment) as watcher:
        try:
            lines = LineReader(watcher)
            deadline = time.monotonic() + TIMEOUT
            replayed = [lines.line(deadline) for _ in range(6)]
            assert replayed == ["PUT", "w", "1", "PUT", "w", "2"]
            served.etcdctl("del", "w")
            assert [lines.line(deadline) for _ in range(2)] == ["DELETE", "w"]
        finally:
            watcher.terminate()
            watcher.wait(timeout=TIMEOUT)


def test_lease_grant_keep_alive_and_revoke(served: Served) -> None:
    granted = served.etcdctl("lease", "grant", "60").stdout.split()
    lease = granted[1]
    assert granted[0] == "lease" and "TTL(60s)" in granted[-1]
    served.etcdctl("put", "--lease", lease, "leased", "v")
    assert "attached keys([leased])" in served.etcdctl("lease", "timetolive", lease, "--keys").stdout
    kept = served.etcdctl("lease", "keep-alive", "--once", lease).stdout.strip()
    assert kept == f"lease {lease} keepalived with TTL(60)"
    assert lease in served.etcdctl("lease", "list").stdout.split()
    assert served.etcdctl("lease", "revoke", lease).stdout.strip() == f"lease {lease} revoked"
    assert served.etcdctl("get", "leased").stdout == ""
    revoked = served.etcdctl("lease", "revoke", lease, check=False)
    assert revoked.returncode != 0 and "requested lease not found" in revoked.stderr


def test_endpoint_status_and_health(served: Served) -> None:
    served.etcdctl("put", "a", "1")
    status = json.loads(served.etcdctl("endpoint", "status", "-w", "json").stdout)[0]
    assert status["Endpoint"] == served.address
    assert status["Status"]["header"]["revision"] >= 2
    assert status["Status"]["dbSize"] > 0
    assert (
        "is healthy"
        in served.etcdctl("endpoint", "health").stderr + served.etcdctl("endpoint", "health").stdout
    )


def test_bad_requests_get_etcds_errors(served: Served) -> None:
    future = served.etcdctl("get", "k", "--rev=1000", check=False)
    assert future.returncode != 0 and "required revision is a future revision" in future.stderr
    descending = served.etcdctl("get", "a", "--prefix", "--order=DESCEND", check=False)
    assert descending.returncode != 0 and "only ascending key order" in descending.stderr
