"""Mounts (read-write, read-only, symlinked host path, propagation) and devices."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.checks.helpers import exit_code, sh
from conformance.pod import security
from conformance.workspace import Workspace, wait_for
from cri import domain as d

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]
P = d.MountPropagation
MOUNT_ROOT = Path("/tmp/tinykube-conformance/mounts")


@pytest.fixture
def host_dir() -> Iterator[Path]:
    path = MOUNT_ROOT / uuid.uuid4().hex[:12]
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(*argv)
    assert await asyncio.wait_for(process.wait(), 30) == 0, f"{argv} failed"


def _mount(host: Path, *, readonly: bool = False, propagation: P = P.PROPAGATION_PRIVATE) -> d.Mount:
    return d.Mount(
        container_path="/mnt/host", host_path=str(host), readonly=readonly, propagation=propagation
    )


async def test_bind_mount_read_write(ws: Workspace, host_dir: Path) -> None:
    """A bind mount is writable and shared with the host: emptyDir and hostPath volumes are."""
    container_id = await ws.start(mounts=(_mount(host_dir),))
    await sh(ws.cri, container_id, "echo from-container > /mnt/host/file")
    assert (host_dir / "file").read_text() == "from-container\n"


async def test_bind_mount_sees_host_files(ws: Workspace, host_dir: Path) -> None:
    """Host files appear in the mount: configMap and secret volumes are files the kubelet wrote."""
    (host_dir / "config").write_text("from-host")
    container_id = await ws.start(mounts=(_mount(host_dir),))
    assert await sh(ws.cri, container_id, "cat /mnt/host/config") == "from-host"


async def test_readonly_mount(ws: Workspace, host_dir: Path) -> None:
    """A readonly mount cannot be written: readOnly volume mounts must hold."""
    container_id = await ws.start(mounts=(_mount(host_dir, readonly=True),))
    assert await exit_code(ws.cri, container_id, "touch /mnt/host/file") != 0
    assert not (host_dir / "file").exists()


async def test_file_mount(ws: Workspace, host_dir: Path) -> None:
    """A single host file can be mounted: the kubelet mounts /etc/hosts and termination-log files."""
    (host_dir / "single").write_text("one file")
    mount = d.Mount(container_path="/etc/single", host_path=str(host_dir / "single"))
    container_id = await ws.start(mounts=(mount,))
    assert await sh(ws.cri, container_id, "cat /etc/single") == "one file"


async def test_symlinked_host_path(ws: Workspace, host_dir: Path) -> None:
    """A host path that is a symlink is resolved: hostPath volumes often point through links."""
    (host_dir / "real").mkdir()
    (host_dir / "real" / "marker").write_text("through-link")
    os.symlink(host_dir / "real", host_dir / "link")
    container_id = await ws.start(mounts=(_mount(host_dir / "link"),))
    assert await sh(ws.cri, container_id, "cat /mnt/host/marker") == "through-link"


async def test_mount_reported_in_status(ws: Workspace, host_dir: Path) -> None:
    """ContainerStatus lists the mounts: kubectl describe and the kubelet's volume manager read them."""
    container_id = await ws.create(mounts=(_mount(host_dir, readonly=True),))
    mounts = (await ws.status(container_id)).mounts
    assert any(m.container_path == "/mnt/host" and m.readonly for m in mounts)


async def test_propagation_host_to_container(ws: Workspace, host_dir: Path) -> None:
    """HostToContainer (rslave) propagation shows host mounts made later: CSI node plugins need it."""
    await _run("mount", "--bind", str(host_dir), str(host_dir))
    try:
        await _run("mount", "--make-rshared", str(host_dir))
        container_id = await ws.start(mounts=(_mount(host_dir, propagation=P.PROPAGATION_HOST_TO_CONTAINER),))
        (host_dir / "sub").mkdir()
        await _run("mount", "-t", "tmpfs", "tk-conf-probe", str(host_dir / "sub"))

        async def visible() -> bool | None:
            mounts = await sh(ws.cri, container_id, "cat /proc/mounts")
            return True if "/mnt/host/sub" in mounts else None

        assert await wait_for("the host's new mount inside the container", visible, timeout=10)
    finally:
        await _run("umount", "-R", str(host_dir))


async def test_propagation_bidirectional(ws: Workspace, host_dir: Path) -> None:
    """Bidirectional propagation shows container mounts on the host: CSI drivers mount volumes so."""
    await _run("mount", "--bind", str(host_dir), str(host_dir))
    try:
        await _run("mount", "--make-rshared", str(host_dir))
        pod = await ws.run_pod(
            linux=d.LinuxPodSandboxConfig(
                security_context=d.LinuxSandboxSecurityContext(
                    privileged=True, namespace_options=d.NamespaceOption(pid=d.NamespaceMode.CONTAINER)
                )
            )
        )
        mount = _mount(host_dir, propagation=P.PROPAGATION_BIDIRECTIONAL)
        container_id = await ws.start(pod, mounts=(mount,), linux=security(privileged=True))
        await sh(ws.cri, container_id, "mkdir -p /mnt/host/sub && mount -t tmpfs tk-conf-bidi /mnt/host/sub")
        mounts = await asyncio.to_thread(Path("/proc/self/mounts").read_text)
        assert f"{host_dir}/sub" in mounts
    finally:
        await _run("umount", "-R", str(host_dir))


async def test_private_propagation_hides_host_mounts(ws: Workspace, host_dir: Path) -> None:
    """Private propagation does not show later host mounts: the default isolates volumes."""
    await _run("mount", "--bind", str(host_dir), str(host_dir))
    try:
        await _run("mount", "--make-rshared", str(host_dir))
        container_id = await ws.start(mounts=(_mount(host_dir),))
        (host_dir / "sub").mkdir()
        await _run("mount", "-t", "tmpfs", "tk-conf-private", str(host_dir / "sub"))
        mounts = await sh(ws.cri, container_id, "cat /proc/mounts")
        assert " /mnt/host " in mounts and "/mnt/host/sub" not in mounts
    finally:
        await _run("umount", "-R", str(host_dir))


async def test_device(ws: Workspace) -> None:
    """A device is created at its container path: GPU and FUSE pods get devices this way."""
    device = d.Device(container_path="/dev/tk-null", host_path="/dev/null", permissions="rwm")
    container_id = await ws.start(devices=(device,))
    found = await sh(ws.cri, container_id, "stat -c '%F %t:%T' /dev/tk-null && echo x > /dev/tk-null")
    assert found == "character special file 1:3"  # /dev/null's major and minor
