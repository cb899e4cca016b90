"""critest's Networking, Streaming, Multiple Containers, Mount Propagation, Mount Readonly and OOM
specs with critest's request shapes; CRITEST.md maps every spec to its checks.

critest's nginx and httpd images are mapped to the seeded web image (busybox httpd on port 80);
its hostnet-nginx image (listening on 12003 in the host network) to the web image started as
`httpd -p 127.0.0.1:<free port>`."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import images
from conformance.checks import critest_requests as ct
from conformance.checks.helpers import free_port, http_get
from conformance.pod import LOG_ROOT
from conformance.streams import SESSION_TIMEOUT, spdy_port_forward, spdy_session
from conformance.workspace import Pod, Workspace, wait_for
from cri import domain as d
from cri.crictl.spdy_transport import CHANNEL_PROTOCOLS, SpdyConnection

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]
P = d.MountPropagation
HTTP_GET = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"


async def _http_status(host: str, port: int) -> str | None:
    """The status line of GET / (None while nothing answers): checkMainPage."""
    reply = await http_get(host, port)
    if reply is None:
        return None
    return reply.split("\r\n", 1)[0] or None


async def _main_page(host: str, port: int) -> str:
    return await wait_for(f"HTTP on {host}:{port}", lambda: _http_status(host, port), timeout=60)


async def _pod_ip(ws: Workspace, pod: Pod) -> str:
    network = (await ws.sandbox_status(pod.id)).network
    assert network is not None and network.ip, "the pod has no IP"
    return network.ip


async def _stdout(ws: Workspace, container_id: str, *argv: str) -> str:
    result = await ws.cri.exec_sync(container_id, list(argv), exec_timeout=ct.EXEC_TIMEOUT)
    assert (result.exit_code, result.stderr) == (0, b""), f"{argv}: {result}"
    return result.stdout.decode()


async def test_dns_config(ws: Workspace) -> None:
    """critest 'DNS config': servers, searches and options appear in /etc/resolv.conf."""
    dns = d.DNSConfig(servers=("10.10.10.10",), searches=("google.com",), options=("ndots:8",))
    pod = await ct.run_pod(ws, prefix="create-PodSandbox-with-DNS-config", dns=dns)
    resolv = await _stdout(ws, await ct.start(ws, pod), "cat", "/etc/resolv.conf")
    for line in ("nameserver 10.10.10.10", "search google.com", "options ndots:8"):
        assert line in resolv, resolv


async def test_set_hostname(ws: Workspace) -> None:
    """critest 'set hostname': the pod's hostname is what `hostname` prints."""
    pod = await ct.run_pod(ws, prefix="create-PodSandbox-with-hostname", hostname="test-hostname")
    assert (await _stdout(ws, await ct.start(ws, pod), "hostname")).strip().lower() == "test-hostname"


async def _web_pod(ws: Workspace, mapping: d.PortMapping, **kwargs: object) -> Pod:
    """createPodSandboxWithPortMapping + createWebServerContainer (the image's own command)."""
    pod = await ct.run_pod(ws, prefix="create-PodSandbox-with-port-mapping", ports=(mapping,), **kwargs)
    await ws.start(
        pod, ct.container_config(ws, prefix="container-for-port", image=images.E2E_NGINX, command=())
    )
    return pod


@pytest.mark.needs("network")
async def test_port_mapping_container_port_only(ws: Workspace) -> None:
    """critest 'port mapping with only container port': the pod IP serves port 80 (status 200)."""
    pod = await _web_pod(ws, d.PortMapping(container_port=images.WEB_PORT))
    assert " 200 " in await _main_page(await _pod_ip(ws, pod), images.WEB_PORT)


async def test_port_mapping_host_port(ws: Workspace) -> None:
    """critest 'port mapping with host port and container port': 127.0.0.1:<host port> serves 200.

    critest uses host port 12000 and no host_ip; a free port is used so parallel runs do not clash.
    """
    port = free_port()
    await _web_pod(ws, d.PortMapping(container_port=images.WEB_PORT, host_port=port))
    assert " 200 " in await _main_page("127.0.0.1", port)


@pytest.mark.needs("streaming")
async def test_exec_without_tty(ws: Workspace) -> None:
    """critest 'exec with tty=false and stdin=false': stdout is exactly b"hello", stderr empty."""
    container_id = await ct.start(ws, await ct.run_pod(ws), prefix="container-for-exec-test")
    result = await spdy_session(await ws.cri.exec(container_id, ["echo", "-n", "hello"]))
    assert (result.stdout, result.stderr, result.exit_code) == (b"hello", b"", 0)


async def _tty_exec_keeping_stdin_open(url: str) -> bytes:
    """client-go's tty exec as critest drives it: stdin stays open until the session has ended."""
    connection = await asyncio.wait_for(SpdyConnection.upgrade(url, CHANNEL_PROTOCOLS), SESSION_TIMEOUT)
    out, status = bytearray(), bytearray()
    try:
        error_stream = await connection.open_stream((("streamtype", "error"),), status.extend)
        await connection.open_stream((("streamtype", "stdin"),), lambda _: None)
        await connection.open_stream((("streamtype", "stdout"),), out.extend)
        await connection.open_stream((("streamtype", "resize"),), lambda _: None)
        await asyncio.wait_for(connection.finished(error_stream), SESSION_TIMEOUT)
    finally:
        await connection.close()
    return bytes(out)


@pytest.mark.needs("streaming")
async def test_exec_with_tty_and_stdin(ws: Workspace) -> None:
    """critest 'exec with tty=true and stdin=true': the session ends when the process does, stdin open."""
    container_id = await ct.start(ws, await ct.run_pod(ws), prefix="container-for-exec-test")
    url = await ws.cri.exec(container_id, ["echo", "-n", "hello"], tty=True, stdin=True)
    assert b"hello" in await _tty_exec_keeping_stdin_open(url)


@pytest.mark.needs("streaming")
async def test_attach_shell(ws: Workspace) -> None:
    """critest 'attach': `echo -n hello` typed into an attached /bin/sh answers exactly b"hello"."""
    pod = await ct.run_pod(ws)
    config = ct.container_config(
        ws, prefix="container-for-attach-test", command=("/bin/sh",), stdin=True, stdin_once=True
    )
    container_id = await ws.start(pod, config)
    await ct.wait_running(ws, container_id)
    url = await ws.cri.attach(container_id, stdin=True, stdout=True, stderr=True)
    result = await spdy_session(url, stdin=b"echo -n hello\n", until=b"hello")
    assert (result.stdout, result.stderr) == (b"hello", b"")


@pytest.mark.needs("streaming", "network")
async def test_port_forward_without_ports(ws: Workspace) -> None:
    """critest 'portforward': a PortForward request naming no port still forwards port 80."""
    pod = await _web_pod(ws, d.PortMapping(container_port=images.WEB_PORT))
    assert " 200 " in await _main_page(await _pod_ip(ws, pod), images.WEB_PORT)
    reply = await spdy_port_forward(await ws.cri.port_forward(pod.id, []), images.WEB_PORT, HTTP_GET)
    assert reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0]


@pytest.mark.needs("streaming")
async def test_port_forward_host_network(ws: Workspace) -> None:
    """critest 'portforward in host network': forwarding reaches a server of a host-network pod."""
    port = free_port()
    linux = ct.namespaced_linux(d.NamespaceOption(network=d.NamespaceMode.NODE))
    pod = await ct.run_pod(
        ws,
        prefix="create-PodSandbox-with-port-mapping",
        ports=(d.PortMapping(container_port=port),),
        linux=linux,
    )
    serve = ("httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www")
    await ws.start(pod, ct.container_config(ws, image=images.E2E_NGINX, command=serve))
    assert " 200 " in await _main_page("127.0.0.1", port)
    reply = await spdy_port_forward(await ws.cri.port_forward(pod.id, []), port, HTTP_GET)
    assert b" 200 " in reply.split(b"\r\n", 1)[0]


@pytest.mark.needs("network", "logs")
async def test_multiple_containers(ws: Workspace) -> None:
    """critest 'Multiple Containers': a web and a busybox container share a pod: network, logs, exec."""
    pod = await ct.run_pod(
        ws,
        prefix="PodSandbox-for-multi-container-test-",
        log_directory=ct.log_directory(),
        ports=(d.PortMapping(container_port=images.WEB_PORT),),
    )
    web_name, busybox_name = "httpd" + str(uuid.uuid4()), "busybox" + str(uuid.uuid4())
    web = await ws.start(pod, ct.container_config(
        ws, name=web_name, image=images.E2E_NGINX, command=(), log_path=web_name + ".log"
    ))  # fmt: skip
    await ct.wait_running(ws, web)
    busybox_config = ct.container_config(
        ws,
        name=busybox_name,
        command=("sh", "-c", f"echo {ct.DEFAULT_LOG}; sleep 1000"),
        log_path=busybox_name + ".log",
    )
    busybox = await ws.start(pod, dataclasses.replace(busybox_config, linux=None))
    await ct.wait_running(ws, busybox)
    assert " 200 " in await _main_page(await _pod_ip(ws, pod), images.WEB_PORT)
    log_path = Path((await ws.status(busybox)).log_path)

    async def logged() -> bool | None:
        text = await asyncio.to_thread(lambda: log_path.read_text() if log_path.exists() else "")
        return ct.DEFAULT_LOG in text or None

    await wait_for("hello World in the busybox log", logged, timeout=60)
    assert await _stdout(ws, web, "echo", "httpd") == "httpd\n"
    assert await _stdout(ws, busybox, "echo", "busybox") == "busybox\n"


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(*argv)
    assert await asyncio.wait_for(process.wait(), 30) == 0, f"{argv} failed"


@dataclasses.dataclass(frozen=True, slots=True)
class PropagationDirs:
    root: Path
    source: Path  # mntSource: bind-mounted onto itself, mounted into the container at the same path
    host_src: Path  # propagationSrcDir: holds flagFile
    host_point: Path  # propagationMntPoint: inside source, the host mounts host_src on it later


@pytest.fixture
def propagation_dirs() -> Iterator[PropagationDirs]:
    root = Path(LOG_ROOT).parent / "critest-propagation" / uuid.uuid4().hex[:12]
    dirs = PropagationDirs(root, root / "mnt", root / "propagationSrcDir", root / "mnt" / "propagationMnt")
    dirs.host_point.mkdir(parents=True)
    dirs.host_src.mkdir()
    (dirs.host_src / "flagFile").touch()
    yield dirs
    subprocess.run(["umount", "-R", "-l", str(dirs.source)], stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    "propagation",
    [P.PROPAGATION_PRIVATE, P.PROPAGATION_BIDIRECTIONAL, P.PROPAGATION_HOST_TO_CONTAINER],
    ids=["rprivate", "rshared", "rslave"],
)
async def test_mount_propagation(ws: Workspace, propagation_dirs: PropagationDirs, propagation: P) -> None:
    """critest 'mount with rprivate/rshared/rslave': status reports the mount; mounts propagate as set."""
    dirs = propagation_dirs
    source = str(dirs.source)
    await _run("mount", "--rbind", source, source)
    await _run(
        "mount", "--make-rprivate" if propagation == P.PROPAGATION_PRIVATE else "--make-rshared", source
    )
    pod = await ct.run_pod(ws, prefix=ct.PRIVILEGED_POD, linux=ct.privileged_linux())
    mount = d.Mount(host_path=source, container_path=source, propagation=propagation)
    config = ct.container_config(
        ws,
        prefix="mount-propagation-test-",
        command=ct.PAUSE,
        mounts=(mount,),
        linux=ct.with_security(privileged=True),
    )
    container_id = await ws.create(pod, config)
    reported = (await ws.cri.container_status(container_id, verbose=True)).status
    assert reported is not None and reported.mounts, "ContainerStatus lists no mounts"
    first = reported.mounts[0]
    fields = (first.container_path, first.host_path, first.readonly, first.selinux_relabel, first.propagation)
    assert fields == (source, source, False, False, propagation)
    await ws.cri.start_container(container_id)
    await ct.wait_running(ws, container_id)
    await _run("mount", "--rbind", str(dirs.host_src), str(dirs.host_point))
    seen_in_container = await _stdout(ws, container_id, "ls", "-A", str(dirs.host_point))
    assert bool(seen_in_container) == (propagation != P.PROPAGATION_PRIVATE)
    inner = dirs.source / "containerMntPoint"
    await _stdout(ws, container_id, "sh", "-c", f"mkdir -p {inner}")
    await _stdout(ws, container_id, "sh", "-c", f"mount --bind /etc {inner}")
    seen_on_host = await asyncio.to_thread(lambda: list(inner.iterdir()))
    assert bool(seen_on_host) == (propagation == P.PROPAGATION_BIDIRECTIONAL)


@pytest.fixture
def tmpfs_host_path() -> Iterator[Path]:
    """createHostPathForRROMount: a host directory with a tmpfs mounted on its subdirectory tmpfs."""
    root = Path(LOG_ROOT).parent / "critest-rro" / uuid.uuid4().hex[:12]
    (root / "tmpfs").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", str(root / "tmpfs")], check=True)
    yield root
    subprocess.run(["umount", "-l", str(root / "tmpfs")], stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(root, ignore_errors=True)


async def test_non_recursive_readonly_mount(ws: Workspace, tmpfs_host_path: Path) -> None:
    """critest 'non-recursive readonly mounts': a submount of a readonly mount stays writable."""
    pod = await ct.run_pod(ws, prefix=ct.PRIVILEGED_POD, linux=ct.privileged_linux())
    mount = d.Mount(
        host_path=str(tmpfs_host_path), container_path="/mnt", readonly=True, selinux_relabel=True
    )
    container_id = await ct.start(ws, pod, prefix="test-mount-", command=ct.PAUSE, mounts=(mount,))
    await _stdout(ws, container_id, "touch", "/mnt/tmpfs/file")
    assert await asyncio.to_thread((tmpfs_host_path / "tmpfs" / "file").is_file)  # it reached the volume


@pytest.mark.needs("recursive_read_only_mounts")
async def test_recursive_readonly_mount(ws: Workspace, tmpfs_host_path: Path) -> None:
    """critest 'recursive readonly mounts' (skipped, as by critest, unless the handler announces them)."""
    pod = await ct.run_pod(ws, prefix=ct.PRIVILEGED_POD, linux=ct.privileged_linux())
    mount = d.Mount(
        host_path=str(tmpfs_host_path),
        container_path="/mnt",
        readonly=True,
        recursive_read_only=True,
        selinux_relabel=True,
    )
    container_id = await ct.start(ws, pod, prefix="test-mount-", command=ct.PAUSE, mounts=(mount,))
    await _stdout(ws, container_id, "sh", "-c", 'touch /mnt/tmpfs/foo 2>&1 | grep -q "Read-only file system"')


async def test_oom_killed_critest(ws: Workspace) -> None:
    """critest 'should terminate with exitCode 137 and reason OOMKilled': dd over 15 MiB is OOM-killed."""
    pod = await ct.run_pod(ws, prefix=ct.PRIVILEGED_POD, linux=ct.privileged_linux())
    limit = 15 * 1024 * 1024
    resources = d.LinuxContainerResources(memory_limit_in_bytes=limit, memory_swap_limit_in_bytes=limit)
    config = ct.container_config(
        ws, prefix="OOM-test-", command=("sh", "-c", "dd if=/dev/zero of=/dev/null bs=20M"),
        linux=d.LinuxContainerConfig(resources=resources),
    )  # fmt: skip
    status = await ws.wait_exited(await ws.start(pod, config), timeout=60)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")
