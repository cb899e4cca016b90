"""Seccomp in real runc containers: RuntimeDefault is containerd's allow-list; Unconfined and Localhost.

The syscalls probed here succeed for a container's root user when seccomp is off, so a failure with
EPERM can only come from the filter, not from missing capabilities.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cri import domain as d
from cri.client import CRIClient
from cri.errors import InvalidArgument
from shims.runc.runtime import RuncRuntime
from tests.runc.scenario import container_config, pod_config, run_container, wait_until

pytestmark = pytest.mark.integration
Shim = tuple[CRIClient, RuncRuntime]
Profile = d.SecurityProfileProfileType
PERL = Path("/usr/bin/perl")
# Syscall numbers on x86_64 (asm/unistd_64.h).
SYS_PERSONALITY, SYS_CLONE3 = 135, 435
ADDR_NO_RANDOMIZE, PER_LINUX32 = 0x0040000, 0x0008
EXEC_TIMEOUT = 20
NOT_PERMITTED = "Operation not permitted"
SERVER_SCRIPT = (
    "mkdir -p /www && echo hello > /www/index.html && httpd -p 8080 -h /www && exec nc -ll -p 9000 -e cat"
)


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host's perl with its libraries and loader, to issue raw syscalls inside a busybox container."""
    if not PERL.exists():
        pytest.skip("perl (Debian perl-base) is needed to issue raw syscalls in the container")
    target = tmp_path_factory.mktemp("tools")
    listing = subprocess.run(["ldd", str(PERL)], check=True, capture_output=True, text=True).stdout
    for library in re.findall(r"(/\S+) \(0x", listing):
        shutil.copy2(library, target / Path(library).name)
    shutil.copy2(PERL, target / "perl")
    return target


def confined(
    name: str, *, profile: d.SecurityProfile, add_caps: tuple[str, ...] = (), mounts: tuple[d.Mount, ...] = ()
) -> d.ContainerConfig:
    base = container_config(name, "sleep", "300")
    security = d.LinuxContainerSecurityContext(
        seccomp=profile, capabilities=d.Capability(add_capabilities=add_caps)
    )
    return dataclasses.replace(base, mounts=mounts, linux=d.LinuxContainerConfig(security_context=security))


RUNTIME_DEFAULT = d.SecurityProfile(profile_type=Profile.RuntimeDefault)
UNCONFINED = d.SecurityProfile(profile_type=Profile.Unconfined)


async def start_pod(client: CRIClient, tmp_path: Path, name: str) -> tuple[str, d.PodSandboxConfig]:
    pod = pod_config(name, tmp_path / "logs")
    return await client.run_pod_sandbox(pod), pod


async def sh(client: CRIClient, container_id: str, script: str) -> d.ExecSyncResult:
    return await client.exec_sync(container_id, ["sh", "-c", script], exec_timeout=EXEC_TIMEOUT)


async def test_runtime_default_refuses_a_user_namespace_that_unconfined_allows(
    shim: Shim, tmp_path: Path
) -> None:
    client, _ = shim
    pod_id, pod = await start_pod(client, tmp_path, "userns")
    strict = await run_container(client, pod_id, pod, confined("strict", profile=RUNTIME_DEFAULT))
    loose = await run_container(client, pod_id, pod, confined("loose", profile=UNCONFINED))
    refused = await sh(client, strict, "busybox unshare -U true")
    assert refused.exit_code != 0 and NOT_PERMITTED in refused.stderr.decode()
    assert (await sh(client, loose, "busybox unshare -U true")).exit_code == 0


async def test_cap_sys_admin_widens_runtime_default_to_mount(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    pod_id, pod = await start_pod(client, tmp_path, "mount")
    admin = await run_container(
        client, pod_id, pod, confined("admin", profile=RUNTIME_DEFAULT, add_caps=("SYS_ADMIN",))
    )
    plain = await run_container(client, pod_id, pod, confined("plain", profile=RUNTIME_DEFAULT))
    script = "mkdir -p /tmp/m && mount -t tmpfs scratch /tmp/m && grep -c ' /tmp/m tmpfs' /proc/mounts"
    mounted = await sh(client, admin, script)
    assert (mounted.exit_code, mounted.stdout) == (0, b"1\n"), mounted.stderr
    assert (await sh(client, plain, script)).exit_code != 0


PROBE = "$r = syscall({nr}, {arg}); print $r < 0 ? $! + 0 : 0, qq(\\n);"  # 0 on success, else errno


async def probe(client: CRIClient, container_id: str, nr: int, arg: int) -> int:
    code = PROBE.format(nr=nr, arg=arg)
    command = ["/tools/ld-linux-x86-64.so.2", "--library-path", "/tools", "/tools/perl", "-e", code]
    result = await client.exec_sync(container_id, command, exec_timeout=EXEC_TIMEOUT)
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


async def test_argument_filters_personality_and_clone3(shim: Shim, tmp_path: Path, tools: Path) -> None:
    """Calls the old deny-list let through: personality with a risky persona, and clone3."""
    client, _ = shim
    pod_id, pod = await start_pod(client, tmp_path, "args")
    mount = (d.Mount(container_path="/tools", host_path=str(tools), readonly=True),)
    strict_config = confined("strict", profile=RUNTIME_DEFAULT, mounts=mount)
    strict = await run_container(client, pod_id, pod, strict_config)
    loose = await run_container(client, pod_id, pod, confined("loose", profile=UNCONFINED, mounts=mount))
    assert await probe(client, strict, SYS_PERSONALITY, PER_LINUX32) == 0
    assert await probe(client, strict, SYS_PERSONALITY, ADDR_NO_RANDOMIZE) == 1  # EPERM
    assert await probe(client, loose, SYS_PERSONALITY, ADDR_NO_RANDOMIZE) == 0
    assert await probe(client, strict, SYS_CLONE3, 0) == 38  # ENOSYS: glibc then falls back to clone
    assert await probe(client, loose, SYS_CLONE3, 0) != 38


async def test_everyday_work_under_runtime_default(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    server_pod, server_config = await start_pod(client, tmp_path, "server")
    server = container_config("server", "sh", "-c", SERVER_SCRIPT)
    await run_container(client, server_pod, server_config, server)
    status = (await client.pod_sandbox_status(server_pod)).status
    assert status is not None and status.network is not None
    ip = status.network.ip
    client_pod, client_config = await start_pod(client, tmp_path, "client")
    worker = await run_container(client, client_pod, client_config, confined("w", profile=RUNTIME_DEFAULT))

    async def served() -> bool:
        return (await sh(client, worker, f"wget -q -O - http://{ip}:8080/")).stdout == b"hello\n"

    await wait_until(served, what=f"httpd on {ip}:8080 to answer a RuntimeDefault client")
    work = await sh(client, worker, f"ls / >/dev/null && ps >/dev/null && echo ping | nc -w 2 {ip} 9000")
    assert (work.exit_code, work.stdout) == (0, b"ping\n"), work.stderr


async def test_localhost_profile_is_loaded_from_its_file(shim: Shim, tmp_path: Path) -> None:
    client, _ = shim
    deny_mkdir = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    profile_file = tmp_path / "deny-mkdir.json"
    await asyncio.to_thread(profile_file.write_text, json.dumps(deny_mkdir))
    pod_id, pod = await start_pod(client, tmp_path, "localhost")
    local = d.SecurityProfile(profile_type=Profile.Localhost, localhost_ref=str(profile_file))
    container = await run_container(client, pod_id, pod, confined("local", profile=local))
    refused = await sh(client, container, "mkdir /tmp/x")
    assert refused.exit_code != 0 and NOT_PERMITTED in refused.stderr.decode()
    assert (await sh(client, container, "touch /tmp/file")).exit_code == 0
    for ref in (str(tmp_path / "missing.json"), "relative/profile.json"):
        missing = d.SecurityProfile(profile_type=Profile.Localhost, localhost_ref=ref)
        with pytest.raises(InvalidArgument, match="profile"):
            await client.create_container(pod_id, confined(f"bad{len(ref)}", profile=missing), pod)
