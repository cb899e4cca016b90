"""A runc shim endpoint in a temporary directory: busybox rootfs, CNI on bridge tkrunc0, config file.

``runc_endpoint`` is the contract suite's entry for this backend; ``ShimProcess`` runs the real
``tinykube shim --backend runc`` so tests can kill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from cri.streaming.server import StreamingServer
from shims.runc.config import RuncShimConfig
from shims.runc.images import LocalImages
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime
from shims.runc.streaming import RuncStreaming

BUSYBOX = Path("/bin/busybox")
CATATONIT = Path("/usr/bin/catatonit")
APPLETS = (
    "sh", "ls", "echo", "cat", "sleep", "id", "hostname", "ip", "wget", "nc", "httpd", "ps", "true",
    "false", "touch", "mkdir", "stat", "grep", "head", "sysctl", "mount", "ping", "seq", "dd", "test", "[",
)  # fmt: skip
IMAGES = ("docker.io/library/busybox:1.36", "docker.io/library/busybox:latest", "registry.k8s.io/pause:3.10")
BRIDGE = "tkrunc0"
SUBNET = "10.211.0.0/16"
NETWORK_NAME = "tinykube-runc-test"
# Pods get 10.211.1.2 and up: a stale bridge of another suite (tkconf0, 10.211.0.1/24) may still route
# 10.211.0.0/24 on this machine, and a more specific route would take our pods' traffic.
RANGE_START = "10.211.1.2"
SHIM_START_TIMEOUT = 30.0


def build_rootfs(target: Path) -> Path:
    """Blocking: a busybox-static root filesystem with catatonit as /pause."""
    for sub in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, target / "bin/busybox")
    for applet in APPLETS:
        os.symlink("busybox", target / "bin" / applet)
    shutil.copy2(CATATONIT, target / "pause")
    (target / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
    )
    (target / "etc/group").write_text("root:x:0:\nextra:x:1234:nobody\nnobody:x:65534:\n")
    return target


def cni_conflist(*, ipam_dir: Path, network_name: str = NETWORK_NAME) -> dict[str, object]:
    bridge = {
        "type": "bridge",
        "bridge": BRIDGE,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": SUBNET, "rangeStart": RANGE_START}]],
            "dataDir": str(ipam_dir),
        },
    }
    portmap = {"type": "portmap", "capabilities": {"portMappings": True}}
    return {"cniVersion": "1.0.0", "name": network_name, "plugins": [bridge, portmap]}


@dataclass(frozen=True, kw_only=True)
class Layout:
    base: Path
    config: RuncShimConfig
    config_file: Path
    ipam_dir: Path
    network_name: str = NETWORK_NAME


def make_layout(
    base: Path, *, rootfs: Path | None = None, cgroup_parent: str = "", network_name: str = NETWORK_NAME
) -> Layout:
    """Blocking: directories, rootfs, CNI config and the shim's YAML config under ``base``.

    ``cgroup_parent`` defaults to ``/tinykube-test/<base name>`` and ``network_name`` (which names
    portmap's NAT rules) to ``NETWORK_NAME``: other runs may share both.
    """
    rootfs = rootfs or build_rootfs(base / "rootfs")
    cni_dir, ipam_dir = base / "net.d", base / "ipam"
    cni_dir.mkdir(parents=True, exist_ok=True)
    conflist = cni_conflist(ipam_dir=ipam_dir, network_name=network_name)
    (cni_dir / "10-tinykube.conflist").write_text(json.dumps(conflist))
    raw = {
        "root_dir": str(base / "root"),
        "state_dir": str(base / "state"),
        "cni_conf_dir": str(cni_dir),
        "cni_bin_dirs": ["/usr/lib/cni"],
        "cgroup_parent": cgroup_parent or f"/tinykube-test/{base.name}",
        "local_images": {ref: str(rootfs) for ref in IMAGES},
    }
    config_file = base / "runc.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    from shims.runc.config import load_config

    return Layout(
        base=base,
        config=load_config(config_file),
        config_file=config_file,
        ipam_dir=ipam_dir,
        network_name=network_name,
    )


@asynccontextmanager
async def serve(config: RuncShimConfig, socket: Path) -> AsyncIterator[tuple[CRIClient, RuncRuntime]]:
    """The runtime in this process behind a real gRPC server."""
    images = LocalImages(config.local_images)
    runtime = RuncRuntime(config, images)
    await recover(runtime)
    streaming = StreamingServer(RuncStreaming(runtime))
    await streaming.start()
    runtime.streaming_server = streaming
    server = CRIServer(runtime, images, ServerOptions(socket=socket))
    await server.start()
    client = await CRIClient.connect(f"unix://{socket}", timeout=60)
    try:
        yield client, runtime
    finally:
        await client.close()
        await server.stop()
        await streaming.stop()
        await runtime.close()


async def remove_everything(client: CRIClient) -> None:
    for sandbox in await client.list_pod_sandbox():
        await client.remove_pod_sandbox(sandbox.id)


@asynccontextmanager
async def runc_endpoint(tmp_path: Path) -> AsyncIterator[CRIClient]:
    """The contract suite's entry: ``"runc": (runc_endpoint, (pytest.mark.integration,))``."""
    layout = await asyncio.to_thread(make_layout, tmp_path / "runc")
    async with serve(layout.config, tmp_path / "runc.sock") as (client, _):
        try:
            yield client
        finally:
            await remove_everything(client)


class ShimProcess:
    """``tinykube shim --backend runc`` as a child process (so a test can SIGKILL it)."""

    def __init__(self, layout: Layout, socket: Path, *, log_file: Path | None = None) -> None:
        """``log_file``: where the shim's log (stderr) goes, appended; else the test's own stderr."""
        self.layout = layout
        self.socket = socket
        self.log_file = log_file
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> CRIClient:
        self.socket.unlink(missing_ok=True)
        with contextlib.ExitStack() as files:
            log = files.enter_context(self.log_file.open("ab")) if self.log_file is not None else None
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tinykube.main", "shim", "--backend", "runc",
                "--socket", str(self.socket), "--config", str(self.layout.config_file),
                "--log-level", "warning", stdin=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHIM_START_TIMEOUT
        while not self.socket.exists():
            if self.process.returncode is not None or loop.time() > deadline:
                raise RuntimeError(f"the runc shim did not start (exit {self.process.returncode})")
            await asyncio.sleep(0.05)
        return await CRIClient.connect(f"unix://{self.socket}", timeout=60)

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the shim."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), SHIM_START_TIMEOUT)
