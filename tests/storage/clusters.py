"""Real etcd for integration tests: a three-member cluster on free 127.0.0.1 ports, started by the
project's own script and torn down at the end of the session."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / ".ci" / "etcd-cluster.sh"


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass(frozen=True)
class EtcdCluster:
    data_dir: Path
    endpoints: tuple[str, ...]
    env: dict[str, str]

    def member_pid(self, index: int) -> int:
        return int((self.data_dir / f"m{index}.pid").read_text())


@contextmanager
def etcd_cluster(data_dir: Path) -> Iterator[EtcdCluster]:
    ports = free_ports(6)
    env = {
        **os.environ,
        "ETCD_CLIENT_PORTS": " ".join(map(str, ports[:3])),
        "ETCD_PEER_PORTS": " ".join(map(str, ports[3:])),
    }
    started = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), "start", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"etcd cluster did not start: {started.stderr}")
    try:
        yield EtcdCluster(data_dir, tuple(started.stdout.strip().split(",")), env)
    finally:
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(data_dir)], env=env, timeout=60, check=False)
