"""Fixtures for the runc shim: a busybox rootfs, a CNI config on our own bridge, a served shim.

Bridge ``tkrunc0``, subnet 10.211.0.0/16, no IP masquerade: pod traffic stays on this host.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cri.client import CRIClient
from cri.server import CRIServer, ServerOptions
from shims.runc.config import RuncShimConfig
from shims.runc.images import LocalImages
from shims.runc.recovery import recover
from shims.runc.runtime import RuncRuntime

BUSYBOX = Path("/bin/busybox")
CATATONIT = Path("/usr/bin/catatonit")
APPLETS = (
    "sh",
    "ls",
    "echo",
    "cat",
    "sleep",
    "id",
    "hostname",
    "ip",
    "wget",
    "nc",
    "httpd",
    "ps",
    "true",
    "false",
)
IMAGE = "docker.io/library/busybox:1.36"
BRIDGE = "tkrunc0"
SUBNET = "10.211.0.0/16"


def build_rootfs(target: Path) -> Path:
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


def cni_conflist(*, ipam_dir: Path) -> dict[str, object]:
    return {
        "cniVersion": "1.0.0",
        "name": "tinykube-runc-test",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": SUBNET}]], "dataDir": str(ipam_dir)},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rootfs(tmp_path_factory.mktemp("rootfs"))


@pytest.fixture
def shim_config(tmp_path: Path, rootfs: Path) -> Iterator[RuncShimConfig]:
    cni_dir = tmp_path / "net.d"
    cni_dir.mkdir()
    (cni_dir / "10-tinykube.conflist").write_text(json.dumps(cni_conflist(ipam_dir=tmp_path / "ipam")))
    yield RuncShimConfig(
        root_dir=tmp_path / "root",
        state_dir=tmp_path / "state",
        cni_conf_dir=cni_dir,
        cni_bin_dirs=(Path("/usr/lib/cni"),),
        cgroup_parent=f"/tinykube-test-{os.getpid()}",
        local_images={IMAGE: rootfs},
    )


@asynccontextmanager
async def serve(config: RuncShimConfig, socket: Path) -> AsyncIterator[tuple[CRIClient, RuncRuntime]]:
    images = LocalImages(config.local_images)
    runtime = RuncRuntime(config, images)
    await recover(runtime)
    server = CRIServer(runtime, images, ServerOptions(socket=socket))
    await server.start()
    client = await CRIClient.connect(f"unix://{socket}", timeout=60)
    try:
        yield client, runtime
    finally:
        await client.close()
        await server.stop()
        await runtime.close()


@pytest.fixture
async def shim(shim_config: RuncShimConfig, tmp_path: Path) -> AsyncIterator[tuple[CRIClient, RuncRuntime]]:
    async with serve(shim_config, tmp_path / "runc.sock") as served:
        yield served
        for sandbox in await served[0].list_pod_sandbox():
            await served[0].remove_pod_sandbox(sandbox.id)
