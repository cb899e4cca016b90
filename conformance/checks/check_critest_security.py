"""critest's Security Context specs (namespaces, users, rootfs, privileges, capabilities, masked and
read-only paths, seccomp) with critest's request shapes; CRITEST.md maps every spec to its checks.

critest's nginx image is mapped to the seeded web image (busybox httpd, its pid found by `pidof
httpd`, its command line "httpd" where nginx shows "master process")."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from conformance import images
from conformance.checks import critest_requests as ct
from conformance.checks.helpers import proc_status_field
from conformance.pod import LOG_ROOT
from conformance.workspace import Pod, Workspace
from cri import domain as d
from cri.errors import CRIError

pytestmark = [pytest.mark.conformance, pytest.mark.needs("processes")]
NODE, POD, CONTAINER = d.NamespaceMode.NODE, d.NamespaceMode.POD, d.NamespaceMode.CONTAINER
Profile = d.SecurityProfileProfileType


async def _exec(ws: Workspace, container_id: str, *argv: str) -> d.ExecSyncResult:
    return await ws.cri.exec_sync(container_id, list(argv), exec_timeout=ct.EXEC_TIMEOUT)


async def _stdout(ws: Workspace, container_id: str, *argv: str) -> str:
    """validate.execSyncContainer: the command succeeds with an empty stderr."""
    result = await _exec(ws, container_id, *argv)
    assert (result.exit_code, result.stderr) == (0, b""), f"{argv}: {result}"
    return result.stdout.decode()


async def _namespaced(ws: Workspace, options: d.NamespaceOption, log_directory: str = "") -> Pod:
    """createNamespacePodSandbox: the options on the pod, with an empty DNS config."""
    return await ct.run_pod(
        ws,
        prefix="NamespaceOption-PodSandbox-",
        linux=ct.namespaced_linux(options),
        dns=d.DNSConfig(),
        log_directory=log_directory,
    )


async def _namespaced_container(ws: Workspace, pod: Pod, options: d.NamespaceOption, **kwargs: object) -> str:
    """createNamespaceContainer: the same options on the container's security context."""
    return await ct.start(ws, pod, linux=ct.with_security(namespace_options=options), **kwargs)


async def _web(ws: Workspace, pod: Pod, options: d.NamespaceOption) -> str:
    return await _namespaced_container(ws, pod, options, image=images.E2E_NGINX, command=())


async def test_host_pid(ws: Workspace) -> None:
    """critest 'HostPID': a host-pid container sees another host-pid container's server process."""
    options = d.NamespaceOption(pid=NODE, ipc=POD, network=POD)
    pod = await _namespaced(ws, options)
    web = await _web(ws, pod, options)
    server_pids = set((await _stdout(ws, web, "pidof", "httpd")).split())
    other = await _namespaced_container(ws, pod, options, command=("sh", "-c", "sleep 1000"))
    seen = set((await _stdout(ws, other, "pidof", "httpd")).split())
    assert server_pids and all(pid.isdigit() and int(pid) > 0 for pid in server_pids), server_pids
    assert server_pids & seen


async def _ipcmk() -> str:
    process = await asyncio.create_subprocess_exec("ipcmk", "-M", "1048576", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, "ipcmk failed"
    return out.decode().strip().removeprefix("Shared memory id: ")


async def _ipcrm(segment: str) -> None:
    process = await asyncio.create_subprocess_exec("ipcrm", "-m", segment)
    await asyncio.wait_for(process.wait(), 30)


@pytest_asyncio.fixture
async def host_segment() -> AsyncIterator[str]:
    """A shared memory segment created on the host, as critest does with ipcmk."""
    segment = await _ipcmk()
    yield segment
    await _ipcrm(segment)


@pytest.mark.parametrize("mode", [NODE, POD], ids=["host-ipc", "pod-ipc"])
async def test_host_ipc(ws: Workspace, host_segment: str, mode: d.NamespaceMode) -> None:
    """critest 'HostIpc is true/false': the host's shm segment is visible only with host IPC.

    critest runs `ipcs -m`; the seeded busybox has no ipcs, so /proc/sysvipc/shm (ipcs's source) is read.
    """
    options = d.NamespaceOption(pid=POD, ipc=mode, network=POD)
    pod = await _namespaced(ws, options)
    container_id = await _namespaced_container(ws, pod, options, command=ct.PAUSE)
    table = await _stdout(ws, container_id, "cat", "/proc/sysvipc/shm")
    assert table.split()[:2] == ["key", "shmid"], f"not /proc/sysvipc/shm: {table!r}"
    shmids = {line.split()[1] for line in table.splitlines()[1:] if len(line.split()) > 1}
    assert (host_segment in shmids) == (mode == NODE)


@pytest.mark.parametrize("mode", [POD, CONTAINER], ids=["pod-pid", "container-pid"])
async def test_pid_namespace_pid1(ws: Workspace, mode: d.NamespaceMode) -> None:
    """critest 'PodPID'/'ContainerPID': pid 1 is the server only in a container pid namespace."""
    options = d.NamespaceOption(pid=mode)
    web = await _web(ws, await _namespaced(ws, options), options)
    script = (
        "for i in 1 2 3 4 5; do grep -q httpd /proc/1/cmdline && break; sleep 1; done;"
        " printf 'pid 1: '; tr '\\0' ' ' < /proc/1/cmdline"
    )
    pid1 = await _stdout(ws, web, "sh", "-c", script)
    assert pid1.startswith("pid 1: ") and pid1.removeprefix("pid 1: ").strip(), pid1
    assert ("httpd" in pid1) == (mode == CONTAINER), pid1


@pytest.mark.needs("logs")
@pytest.mark.parametrize("mode", [NODE, POD], ids=["host-network", "pod-network"])
async def test_host_network(ws: Workspace, mode: d.NamespaceMode) -> None:
    """critest 'HostNetwork is true/false': `netstat -ln` shows a host listener only with host network."""
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        options = d.NamespaceOption(pid=POD, ipc=POD, network=mode)
        pod = await _namespaced(ws, options, log_directory=ct.log_directory())
        name = "container-with-HostNetwork-test-" + uuid.uuid4().hex
        container_id = await ws.start(
            pod,
            ct.container_config(
                ws, name=name, command=("sh", "-c", "netstat -ln"), log_path=name + ".log",
                linux=ct.with_security(namespace_options=options),
            ),
        )  # fmt: skip
        await ws.wait_exited(container_id, timeout=60)
        records = await ct.log_records(pod, name + ".log")
        listed = any(re.search(rf":{port}\b", record.log) for record in records)
        assert listed == (mode == NODE)
    finally:
        server.close()


async def test_supplemental_groups_as_root(ws: Workspace) -> None:
    """critest 'SupplementalGroups': groups 1234 and 5678 are added for the image's (root) user."""
    container_id = await ct.start(
        ws, await ct.run_pod(ws), command=ct.PAUSE, linux=ct.with_security(supplemental_groups=(1234, 5678))
    )
    assert {"1234", "5678"} <= set((await _stdout(ws, container_id, "id", "-G")).split())


async def test_run_as_user_exact(ws: Workspace) -> None:
    """critest 'RunAsUser': `id -u` prints exactly "1001\\n" for run_as_user 1001."""
    container_id = await ct.start(
        ws, await ct.run_pod(ws), command=ct.PAUSE, linux=ct.with_security(run_as_user=1001)
    )
    assert await _stdout(ws, container_id, "id", "-u") == "1001\n"


async def test_run_as_username_nobody(ws: Workspace) -> None:
    """critest 'RunAsUserName': run_as_username "nobody" makes `id -nu` print "nobody\\n"."""
    container_id = await ct.start(
        ws, await ct.run_pod(ws), command=ct.PAUSE, linux=ct.with_security(run_as_username="nobody")
    )
    assert await _stdout(ws, container_id, "id", "-nu") == "nobody\n"


async def _log_of_exited(
    ws: Workspace, linux: d.LinuxContainerConfig, command: tuple[str, ...]
) -> set[tuple[str, str]]:
    """Run ``command`` to exit in a pod with a log directory; its (stream, line) log records."""
    pod = await ct.run_pod(ws, prefix=ct.LOG_POD, log_directory=ct.log_directory())
    name = "critest-log-" + uuid.uuid4().hex
    config = ct.container_config(ws, name=name, command=command, log_path=name + ".log", linux=linux)
    await ws.wait_exited(await ws.start(pod, config), timeout=60)
    return {(record.stream, record.log) for record in await ct.log_records(pod, name + ".log")}


@pytest.mark.needs("logs")
async def test_run_as_group_logged(ws: Workspace) -> None:
    """critest 'RunAsGroup': run_as_user 1001 + run_as_group 1002 log "1001:1002" on stdout."""
    linux = ct.with_security(run_as_user=1001, run_as_group=1002)
    records = await _log_of_exited(ws, linux, ("sh", "-c", "echo $(id -u):$(id -g)"))
    assert ("stdout", "1001:1002\n") in records


async def test_run_as_group_without_user_fails(ws: Workspace) -> None:
    """critest 'return error if RunAsGroup is set without RunAsUser': CreateContainer fails."""
    pod = await ct.run_pod(ws)
    config = ct.container_config(ws, command=("sh", "-c", "echo $(id -u):$(id -g)"),
                                 linux=ct.with_security(run_as_group=1002))  # fmt: skip
    with pytest.raises(CRIError):
        await ws.create(pod, config)


@pytest.mark.needs("logs")
@pytest.mark.parametrize("readonly", [False, True], ids=["writable", "readonly"])
async def test_readonly_rootfs_logged(ws: Workspace, readonly: bool) -> None:
    """critest 'ReadOnlyRootfs is false/true': touching ./test.go logs Found, or the EROFS error."""
    command = ("sh", "-c", "touch test.go && [ -f test.go ] && echo 'Found'")
    records = await _log_of_exited(ws, ct.with_security(readonly_rootfs=readonly), command)
    expected = ("stderr", "touch: test.go: Read-only file system\n") if readonly else ("stdout", "Found\n")
    assert expected in records, records


@pytest.mark.parametrize("privileged", [True, False], ids=["privileged", "unprivileged"])
async def test_privileged_network_management(ws: Workspace, privileged: bool) -> None:
    """critest 'Privileged is true/false': `brctl addbr foobar` works only in a privileged container."""
    linux = d.LinuxPodSandboxConfig(security_context=d.LinuxSandboxSecurityContext(privileged=privileged))
    pod = await ct.run_pod(ws, prefix=ct.PRIVILEGED_POD, linux=linux)
    container_id = await ct.start(ws, pod, command=ct.PAUSE, linux=ct.with_security(privileged=privileged))
    assert ((await _exec(ws, container_id, "brctl", "addbr", "foobar")).exit_code == 0) == privileged
    links = (await _stdout(ws, container_id, "ls", "/sys/class/net")).split()
    assert "lo" in links and ("foobar" in links) == privileged, links


def _caps(add: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> d.LinuxContainerConfig:
    return ct.with_security(capabilities=d.Capability(add_capabilities=add, drop_capabilities=drop))


async def test_add_net_admin(ws: Workspace) -> None:
    """critest 'adding capability': NET_ADMIN allows `brctl addbr`; a default container is refused."""
    pod = await ct.run_pod(ws)
    added = await ct.start(ws, pod, command=ct.PAUSE, linux=_caps(add=("NET_ADMIN",)))
    assert (await _exec(ws, added, "brctl", "addbr", "foobar")).exit_code == 0
    default = await ct.start(ws, pod)
    assert (await _exec(ws, default, "brctl", "addbr", "foobar")).exit_code != 0


async def test_drop_net_raw(ws: Workspace) -> None:
    """critest 'dropping capability': without NET_RAW, ping fails with "permission denied"."""
    container_id = await ct.start(ws, await ct.run_pod(ws), command=ct.PAUSE, linux=_caps(drop=("NET_RAW",)))
    result = await _exec(ws, container_id, "ping", "-c", "1", "127.0.0.1")
    assert result.exit_code != 0 and b"permission denied" in result.stderr.lower(), result


@pytest.mark.parametrize("change", ["add", "drop"])
async def test_all_capabilities(ws: Workspace, change: str) -> None:
    """critest 'adding/dropping ALL capabilities': the bounding set is non-empty / empty."""
    linux = _caps(add=("ALL",)) if change == "add" else _caps(drop=("ALL",))
    container_id = await ct.start(ws, await ct.run_pod(ws), command=ct.PAUSE, linux=linux)
    bounding = proc_status_field(await _stdout(ws, container_id, "cat", "/proc/self/status"), "CapBnd")
    assert re.fullmatch(r"[0-9a-f]{16}", bounding), bounding
    assert (int(bounding, 16) == 0) == (change == "drop")


@pytest.fixture
def host_bin() -> Iterator[Path]:
    """A host directory holding a regular-file copy of busybox named ls."""
    directory = Path(LOG_ROOT).parent / "critest-bin" / uuid.uuid4().hex[:12]
    directory.mkdir(parents=True)
    shutil.copy2("/bin/busybox", directory / "ls")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


async def test_masked_path_executable(ws: Workspace, host_bin: Path) -> None:
    """critest 'MaskedPaths': a masked executable cannot run: `/bin/sh -c <it>` says Permission denied.

    critest masks /bin/ls, a hard link in its busybox; in the seeded image /bin/ls is a symlink to
    /bin/busybox (masking it masks every applet), so a regular-file ls mounted at /opt/critest is masked.
    """
    mount = d.Mount(host_path=str(host_bin), container_path="/opt/critest", readonly=True)
    linux = ct.with_security(masked_paths=("/opt/critest/ls",))
    container_id = await ct.start(ws, await ct.run_pod(ws), command=ct.PAUSE, linux=linux, mounts=(mount,))
    result = await _exec(ws, container_id, "/bin/sh", "-c", "/opt/critest/ls")
    assert result.exit_code != 0 and result.stderr == b"/bin/sh: /opt/critest/ls: Permission denied\n", result


async def test_readonly_path_tmp(ws: Workspace) -> None:
    """critest 'ReadonlyPaths': with /tmp read-only, `touch /tmp/test` fails with EROFS."""
    container_id = await ct.start(
        ws, await ct.run_pod(ws), command=ct.PAUSE, linux=ct.with_security(readonly_paths=("/tmp",))
    )
    result = await _exec(ws, container_id, "touch", "/tmp/test")
    assert result.exit_code != 0 and result.stderr == b"touch: /tmp/test: Read-only file system\n", result


BLOCK_HOSTNAME = {"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}  # fmt: skip
BLOCK_CHMOD = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}  # fmt: skip


@pytest.fixture
def profiles() -> Iterator[dict[str, str]]:
    """createSeccompProfile: the two profiles as files on the host."""
    directory = Path(LOG_ROOT).parent / "seccomp" / uuid.uuid4().hex[:12]
    directory.mkdir(parents=True)
    paths = {}
    for name, profile in (("block-host-name.json", BLOCK_HOSTNAME), ("block-chmod.json", BLOCK_CHMOD)):
        (directory / name).write_text(json.dumps(profile))
        paths[name] = str(directory / name)
    yield paths
    shutil.rmtree(directory, ignore_errors=True)


async def _seccomp_container(ws: Workspace, profile: d.SecurityProfile | None) -> str:
    """seccompTestContainer: the profile on both the pod and the container."""
    linux = d.LinuxPodSandboxConfig(security_context=d.LinuxSandboxSecurityContext(seccomp=profile))
    pod = await ct.run_pod(ws, prefix="seccomp-sandbox-", linux=linux)
    return await ct.start(ws, pod, command=ct.PAUSE, linux=ct.with_security(seccomp=profile))


@pytest.mark.parametrize(
    ("profile", "mode"),
    [
        (d.SecurityProfile(profile_type=Profile.Unconfined), "0"),
        (d.SecurityProfile(), "2"),
        (None, "0"),
    ],
    ids=["unconfined", "runtime-default", "nil-is-unconfined"],
)
async def test_seccomp_mode(ws: Workspace, profile: d.SecurityProfile | None, mode: str) -> None:
    """critest 'seccomp unconfined/default/nil profile': /proc/self/status Seccomp is 0, 2, 0."""
    container_id = await _seccomp_container(ws, profile)
    line = await _stdout(ws, container_id, "grep", "Seccomp:", "/proc/self/status")
    assert line.split()[1] == mode, line


async def test_seccomp_localhost_blocks_chmod(ws: Workspace, profiles: dict[str, str]) -> None:
    """critest 'seccomp localhost profile on the container': the profile makes chmod fail with EPERM."""
    profile = d.SecurityProfile(profile_type=Profile.Localhost, localhost_ref=profiles["block-chmod.json"])
    result = await _exec(ws, await _seccomp_container(ws, profile), "chmod", "400", "/")
    assert result.exit_code != 0 and b"Operation not permitted" in result.stderr, result


@pytest.mark.parametrize(
    ("kind", "settable"),
    [("unconfined", True), ("blocking", False), ("privileged-blocking", True)],
)
async def test_sethostname_under_seccomp(
    ws: Workspace, profiles: dict[str, str], kind: str, settable: bool
) -> None:
    """critest sethostname specs: allowed unconfined + SYS_ADMIN, blocked by a profile unless privileged."""
    privileged = kind == "privileged-blocking"
    profile = d.SecurityProfile(profile_type=Profile.Unconfined)
    if kind != "unconfined":
        profile = d.SecurityProfile(
            profile_type=Profile.Localhost, localhost_ref=profiles["block-host-name.json"]
        )
    if privileged:
        pod = await ct.run_pod(ws, prefix=ct.PRIVILEGED_POD, linux=ct.privileged_linux())
    else:
        pod = await ct.run_pod(ws)
    context = d.LinuxContainerSecurityContext(
        privileged=privileged,
        capabilities=d.Capability(add_capabilities=() if privileged else ("SYS_ADMIN",)),
        seccomp=profile,
    )
    container_id = await ct.start(
        ws, pod, command=("sleep", "60"), linux=d.LinuxContainerConfig(security_context=context)
    )
    await _assert_hostname_settable(ws, container_id, settable)


async def _assert_hostname_settable(ws: Workspace, container_id: str, settable: bool) -> None:
    assert ((await _exec(ws, container_id, "hostname", "ANewHostName")).exit_code == 0) == settable
    assert ((await _stdout(ws, container_id, "hostname")).strip() == "ANewHostName") == settable


async def _legacy_seccomp_container(ws: Workspace, path: str, caps: tuple[str, ...] = ()) -> str:
    """Older critest's seccompTestContainer: the deprecated seccomp_profile_path on pod and container."""
    linux = d.LinuxPodSandboxConfig(security_context=d.LinuxSandboxSecurityContext(seccomp_profile_path=path))
    pod = await ct.run_pod(ws, prefix="seccomp-sandbox-", linux=linux)
    context = d.LinuxContainerSecurityContext(
        seccomp_profile_path=path, capabilities=d.Capability(add_capabilities=caps)
    )
    return await ct.start(ws, pod, command=ct.PAUSE, linux=d.LinuxContainerConfig(security_context=context))


@pytest.mark.parametrize(
    ("path", "mode"),
    [("unconfined", "0"), ("", "0"), ("runtime/default", "2"), ("docker/default", "2")],
    ids=["unconfined", "empty-is-unconfined", "runtime-default", "docker-default"],
)
async def test_legacy_seccomp_profile_path(ws: Workspace, path: str, mode: str) -> None:
    """Older critest 'SeccompProfilePath' specs: the deprecated string field still selects the filter."""
    line = await _stdout(
        ws, await _legacy_seccomp_container(ws, path), "grep", "Seccomp:", "/proc/self/status"
    )
    assert line.split()[1] == mode, line


async def test_legacy_localhost_profile_path(ws: Workspace, profiles: dict[str, str]) -> None:
    """Older critest 'seccomp localhost/profile on the container': localhost/<path> blocks chmod."""
    container_id = await _legacy_seccomp_container(ws, "localhost/" + profiles["block-chmod.json"])
    result = await _exec(ws, container_id, "chmod", "400", "/")
    assert result.exit_code != 0 and b"Operation not permitted" in result.stderr, result


async def test_legacy_profile_path_needs_localhost_prefix(ws: Workspace, profiles: dict[str, str]) -> None:
    """Older critest 'custom seccomp profile without using localhost/ as a prefix': CreateContainer fails."""
    pod = await ct.run_pod(ws)
    context = d.LinuxContainerSecurityContext(seccomp_profile_path=profiles["block-host-name.json"])
    with pytest.raises(CRIError):
        await ws.create(
            pod,
            ct.container_config(
                ws, command=("sleep", "60"), linux=d.LinuxContainerConfig(security_context=context)
            ),
        )


@pytest.mark.parametrize(
    ("caps", "settable"), [(("SYS_ADMIN",), True), ((), False)], ids=["sys-admin", "no-caps"]
)
async def test_legacy_docker_default_sethostname(
    ws: Workspace, caps: tuple[str, ...], settable: bool
) -> None:
    """Older critest docker/default specs: sethostname works with SYS_ADMIN, is blocked without extra caps."""
    container_id = await _legacy_seccomp_container(ws, "docker/default", caps)
    await _assert_hostname_settable(ws, container_id, settable)
