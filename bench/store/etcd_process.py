"""The reference etcd for the benchmark, started by the project's cluster script on free loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

CLUSTER_SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "etcd-cluster.sh"


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@contextmanager
def running_etcd(data_dir: Path, *, members: int) -> Iterator[tuple[str, ...]]:
    ports = _free_ports(2 * members)
    env = {
        **os.environ,
        "ETCD_MEMBERS": str(members),
        "ETCD_CLIENT_PORTS": " ".join(map(str, ports[:members])),
        "ETCD_PEER_PORTS": " ".join(map(str, ports[members:])),
    }
    script = ["bash", str(CLUSTER_SCRIPT)]
    started = subprocess.run(
        [*script, "start", str(data_dir)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if started.returncode != 0:
        raise RuntimeError(f"etcd did not start: {started.stderr}")
    try:
        yield tuple(started.stdout.strip().split(","))
    finally:
        subprocess.run([*script, "stop", str(data_dir)], env=env, timeout=60, check=False)
